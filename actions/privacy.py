""""Forget me" ("delete my data", "oublie-moi", "supprime mes données"): asked first
(forget_me_form: "Delete this conversation…? yes / no", domain.yml), then done only on a yes.

On a yes, action_forget_me says so in the user's language; the rule's next step, action_restart,
starts the conversation afresh. The deletion itself is the tracker store's
(stores/sql_tracker_store.py): when it saves a turn that ran this action, it deletes every stored
event of the conversation instead, in one transaction, under the conversation's lock, whichever
Rasa instance handled the turn. Over socket.io it also tells the chat page, which clears what the
browser keeps of the conversation and starts a new session (web/app.js).

On any other answer, action_keep_conversation says that nothing was deleted, and resumes the
guided dialogue when "forget me" interrupted it.
"""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import render
from actions.common import language_of

FORGET_ME_FORM = "forget_me_form"
GUIDED_DIALOGUE = "recommendation_form"
# The custom payload the chat page watches for (web/app.js); socket.io sends it as the event's data.
FORGOTTEN_SIGNAL = {"data": {"conversation_forgotten": True}}


class ActionForgetMe(Action):
    def name(self) -> Text:
        return "action_forget_me"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text=render.say("forgotten", language_of(tracker)))
        if tracker.get_latest_input_channel() == "socketio":
            dispatcher.utter_message(json_message=FORGOTTEN_SIGNAL)
        return []


def loop_before_confirmation(tracker: Tracker) -> Optional[str]:
    """The form that was active when forget_me_form started (None if none was)."""
    loops = [e.get("name") for e in tracker.events if e.get("event") == "active_loop"]
    while loops and loops[-1] != FORGET_ME_FORM:  # its own end (None) comes after it
        loops.pop()
    return loops[-2] if len(loops) >= 2 else None


class ActionKeepConversation(Action):
    def name(self) -> Text:
        return "action_keep_conversation"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_forget_me_cancelled")
        events: List[EventType] = [SlotSet("forget_me_confirmed", None)]  # asked again next time
        if loop_before_confirmation(tracker) == GUIDED_DIALOGUE:  # active again: it asks its question
            events.append(ActiveLoop(GUIDED_DIALOGUE))
        return events
