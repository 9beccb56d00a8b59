""""Forget me" ("delete my data", "oublie-moi", "supprime mes données"): deletes the user's
conversation from the tracker store, says so in the user's language, and (the rule's next step,
action_restart) starts the conversation afresh.

The action server reaches the tracker store's database itself (CONVERSATIONS_DB, see
actions/tracker_db.py). It deletes every stored event of the sender at once, then, in a thread,
waits for Rasa to save this turn (Rasa saves a conversation's turn after its last action: it would
otherwise write the current session, held in its memory, back into the emptied table) and deletes
that too: see `tracker_db.forget_after_save`. A moment after the answer, nothing of the
conversation is left in the database; the next message starts a new one. A clean-up interrupted
by a stop of the action server is finished at its next start (and by the daily
`make purge-conversations`).
"""

import logging
import threading
import time
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions import render, tracker_db
from actions.common import language_of

logger = logging.getLogger(__name__)


_ENGINE = None
_ENGINE_LOCK = threading.Lock()


def engine():
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = tracker_db.engine_for()
        return _ENGINE


def _asked_at(tracker: Tracker) -> float:
    """When the "forget me" message was received, by the Rasa server's clock."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("timestamp"):
            return float(event["timestamp"])
    return time.time() - 60


class ActionForgetMe(Action):
    def name(self) -> Text:
        return "action_forget_me"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        language = language_of(tracker)
        sender_id = tracker.sender_id
        try:
            database = engine()
            if not tracker_db.has_events_table(database):
                raise RuntimeError(f"no 'events' table in {tracker_db.database_url()} (CONVERSATIONS_DB)")
            deleted = tracker_db.delete_conversation(database, sender_id)
        except Exception as error:
            logger.error("Forget me: a conversation could not be deleted: %s", error)
            dispatcher.utter_message(text=render.say("forget_failed", language))
            return []
        logger.info("Forget me: %d stored events of a conversation deleted; the rest of it once saved.", deleted)
        threading.Thread(target=_sweep, args=(database, sender_id, _asked_at(tracker)),
                         name="forget-me", daemon=True).start()
        dispatcher.utter_message(text=render.say("forgotten", language))
        return []


def _finish_interrupted() -> None:
    """At the action server's start: finishes the "forget me" clean-ups that a stop interrupted."""
    if tracker_db.sqlite_file_missing():
        return  # no conversation stored yet (and do not create the file)
    try:
        database = engine()
        if tracker_db.has_events_table(database):
            deleted = tracker_db.finish_forgetting(database)
            if deleted:
                logger.info("Forget me: %d events of interrupted clean-ups deleted.", deleted)
    except Exception as error:
        logger.warning("Forget me: could not check for interrupted clean-ups (%s): %s", tracker_db.database_url(), error)


threading.Thread(target=_finish_interrupted, name="forget-me-start", daemon=True).start()


def _sweep(database: Any, sender_id: str, asked_at: float) -> Optional[int]:
    try:
        return tracker_db.forget_after_save(database, sender_id, asked_at)
    except Exception as error:
        logger.error("Forget me: deleting the last turn of a conversation failed: %s", error)
        return None
