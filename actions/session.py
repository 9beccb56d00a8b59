"""A new conversation session (domain.yml session_config): the slots carried over, as Rasa's own
session start does (rasa.core.actions.action.ActionSessionStart), but the page note, which is to
be said in full again. It runs inside the Rasa server (runtime/in_process_actions.py), so a
session starts even while the action server is down; hence this module imports nothing heavy."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

PAGE_NOTE = "page_note_said"  # the page note was said in full in this session (actions/state.py)


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        carried = [SlotSet(name, value) for name, value in tracker.current_slot_values().items()
                   if value is not None and name != PAGE_NOTE]
        return [SessionStarted(), *carried, ActionExecuted("action_listen")]
