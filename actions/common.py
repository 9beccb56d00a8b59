"""What every action reads from the tracker, and how it sends a reply."""

from typing import List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions.knowledge import STORE


def language_of(tracker: Tracker) -> str:
    return tracker.get_slot("language") or "en"


def intent_of(tracker: Tracker) -> Optional[str]:
    """The latest message's intent as the NLU classified it (buttons' payloads included)."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def send(dispatcher: CollectingDispatcher, reply: render.Reply, language: str = "en") -> None:
    """Sends a reply; one that states facts of the page ends with the page note (in full here:
    actions/state.py `notes_the_page` shortens it to the marker once said in the session)."""
    if reply.from_page:
        reply = render.with_page_note(STORE.knowledge, reply, language, full=True)
    dispatcher.utter_message(text=reply.text, buttons=reply.buttons)


def latest_entities(tracker: Tracker, entity: str) -> List[str]:
    """The values of `entity` in the latest message, in order, without repeats."""
    values: List[str] = []
    for found in tracker.latest_message.get("entities", []):
        if found.get("entity") == entity and found.get("value") not in values:
            values.append(found.get("value"))
    return values
