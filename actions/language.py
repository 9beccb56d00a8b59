"""Chooses the language of the answers on every message (the `language` slot's custom mapping),
from what the NLU's language detector found and what the web page says (kb/language.py)."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from kb.language import choose_language


class ActionDetectLanguage(Action):
    def name(self) -> Text:
        return "action_detect_language"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        found = tracker.latest_message.get("language") or {}  # absent for button payloads
        metadata = tracker.latest_message.get("metadata") or {}
        language, sticky = choose_language(
            found.get("detected"),
            found.get("requested"),
            tracker.get_slot("sticky_language"),
            tracker.get_slot("language"),
            metadata.get("language") if isinstance(metadata, dict) else None,
        )
        return [SlotSet("language", language), SlotSet("sticky_language", sticky)]
