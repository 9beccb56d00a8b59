""""Forget me" ("delete my data", "oublie-moi", "supprime mes données"): says so in the user's
language; the rule's next step, action_restart, starts the conversation afresh.

The deletion itself is the tracker store's (stores/sql_tracker_store.py): when it saves a turn that
ran this action, it deletes every stored event of the conversation instead, in one transaction,
under the conversation's lock, whichever Rasa instance handled the turn. The next message starts
a new conversation.
"""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions.common import language_of


class ActionForgetMe(Action):
    def name(self) -> Text:
        return "action_forget_me"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text=render.say("forgotten", language_of(tracker)))
        return []
