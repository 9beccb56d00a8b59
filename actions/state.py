"""The one conversation state: the clusters last shown, in order (slot `shown_clusters`), the
cluster in focus (slot `cluster`), what was last asked of them (slot `asked_attributes`, for
"and the other one?") and the policy topic last answered (slot `topic`, for "and its budget?"). Every action that names clusters records them with `shown()` or
`focused()`, and every reference ("the other one", "both", "the oldest", "the second") reads
them here.

Also what a reply left for "more" (slot `more`: the paragraphs of the topic not yet said) and
whether the page note was said in full in this session (slot `page_note_said`, reset by the
session start).

What the latest message says beyond its intent comes from the NLU's entities
(components/understanding.py), read back into a `kb.understand.Reading`."""

import functools
from typing import Any, Callable, List, Optional, Sequence

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions import render
from actions.common import language_of, latest_entities
from actions.knowledge import STORE
from actions.session import PAGE_NOTE
from kb.understand import Reading

SHOWN = "shown_clusters"
FOCUS = "cluster"
ASKED = "asked_attributes"
TOPIC = "topic"
MORE = "more"


def shown_clusters(tracker: Tracker) -> List[str]:
    return list(tracker.get_slot(SHOWN) or [])


def focus(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot(FOCUS)


def shown(clusters: Sequence[str], in_focus: Optional[str] = None) -> List[EventType]:
    """Records the clusters a reply shows, in order, and the one in focus: a reply about one
    cluster puts it in focus; a reply about several keeps no single focus."""
    clusters = list(dict.fromkeys(clusters))
    if in_focus is None and len(clusters) == 1:
        in_focus = clusters[0]
    return [SlotSet(SHOWN, clusters), SlotSet(FOCUS, in_focus), SlotSet(ASKED, []), SlotSet(TOPIC, None), SlotSet(MORE, None)]


def topic_answered(topic_id: str, clusters: Sequence[str], left: Sequence[int] = ()) -> List[EventType]:
    """A policy topic answered, the clusters it names, and the paragraphs left for "more"."""
    events = [e for e in shown(clusters) if e["name"] not in (TOPIC, MORE)] if clusters else []
    return events + [SlotSet(TOPIC, topic_id), SlotSet(MORE, list(left) or None)]


def more_left(tracker: Tracker) -> List[int]:
    """The paragraphs of the topic last answered that "more" gives."""
    return list(tracker.get_slot(MORE) or [])


def topic(tracker: Tracker) -> Optional[str]:
    return tracker.get_slot(TOPIC)


def asked(tracker: Tracker) -> List[str]:
    return list(tracker.get_slot(ASKED) or [])


def answered(attributes: Sequence[str]) -> List[EventType]:
    """Records what was asked, for an elliptical follow-up ("and the other one?")."""
    return [SlotSet(ASKED, list(attributes))]


def focused(cluster_id: str, tracker: Tracker) -> List[EventType]:
    """One cluster answered: it is in focus; the clusters shown stay when it is one of them (so
    that "the other one" still works after a pair), else it is the only one shown."""
    current = shown_clusters(tracker)
    return [SlotSet(SHOWN, current if cluster_id in current else [cluster_id]), SlotSet(FOCUS, cluster_id),
            SlotSet(TOPIC, None), SlotSet(MORE, None)]


def reading_of(tracker: Tracker) -> Reading:
    def values(entity: str) -> tuple:
        return tuple(latest_entities(tracker, entity))

    orders, senses = values("order"), values("other_sense")
    return Reading(
        attributes=values("attribute"), unknown_facts=values("unknown_fact"), references=values("reference"),
        order=orders[0] if orders else None, other_sense=senses[0] if senses else None,
        counting=bool(values("counting")),
    )


def position_of(tracker: Tracker) -> Optional[int]:
    positions = latest_entities(tracker, "position")
    return int(positions[0]) if positions else None


def notes_the_page(run: Callable[..., List[EventType]]) -> Callable[..., List[EventType]]:
    """For an action's `run`: the page note its replies end with (actions/common.py `send`) is
    said in full once per session; after that, and after a first one in the same run, it becomes
    the short marker."""

    @functools.wraps(run)
    def noting(action: Any, dispatcher: Any, tracker: Tracker, domain: Any) -> List[EventType]:
        start = len(dispatcher.messages)
        events = run(action, dispatcher, tracker, domain)
        said = bool(tracker.get_slot(PAGE_NOTE))
        kb, language = STORE.knowledge, language_of(tracker)
        full, marker = render.page_note(kb, language), render.page_note(kb, language, full=False)
        for message in dispatcher.messages[start:]:
            if full not in (message.get("text") or ""):
                continue
            if said:
                message["text"] = message["text"].replace(full, marker)
            else:
                said = True
                events = events + [SlotSet(PAGE_NOTE, True)]
        return events

    return noting
