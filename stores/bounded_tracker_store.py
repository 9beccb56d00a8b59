"""Rasa's SQL tracker store with a cost per message that does not grow with the conversation.

    tracker_store:
      type: stores.bounded_tracker_store.BoundedSQLTrackerStore
      dialect: sqlite            # or postgresql, with the options of CheckedSQLTrackerStore
      db: var/conversations.db
      # max_turns: 10            user turns kept in the tracker Rasa works on (default 10)
      # max_conversations: 1000  trackers kept in memory (the least recently used is dropped)

Stock `SQLTrackerStore` rebuilds every event of the session on every message, counts them again
on every save, and the tracker it returns is the whole session: both action-server calls send all
of it and the policies featurise all of it. This store keeps, per conversation, the tracker of the
last message in memory, bounded to its last `max_turns` user turns:

- **bounded**: once the tracker holds twice `max_turns` turns, it is rebuilt from a start that
  restores the state at the cut (`action_session_start`, `session_started`, a `slot` event for each
  slot that was set: what Rasa's own session start does when it carries slots over) followed by
  the events of the last `max_turns` turns. No cut is made while a loop (form) is active or a
  follow-up action is pending. The events are all kept in the database; only the tracker in
  memory is bounded, so the rules (a few turns long) and the actions see what they saw.
- **checked against the store**, under the conversation's lock (Rasa retrieves the tracker after
  taking it): the first and last event ids of the conversation (an index on `sender_id, id`).
  Newer events (saved by another instance) are read and applied, only those; ids that moved
  otherwise (a deletion: the purge, "forget me" by another instance) drop the entry and the
  session is read as Rasa reads it. A save of a turn that ran "forget me" (which deletes the
  conversation, stores/sql_tracker_store.py) drops the entry.
- **updated only after a successful save**; a tracker handed out and not saved (an error during
  the message) is noticed at the next retrieve (events the store never saved) and dropped, as is
  the entry when a save fails.
- a save writes only the events added since the tracker was handed out (no `count()`).

The first message of a conversation after a start, and after a drop, reads the session as Rasa
does. `retrieve_full_tracker` (the HTTP API) is Rasa's.
"""

import itertools
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Iterator, List, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from stores.sql_tracker_store import CheckedSQLTrackerStore, asked_to_forget

logger = logging.getLogger(__name__)

DEFAULT_MAX_TURNS = 10
DEFAULT_MAX_CONVERSATIONS = 1000  # trackers kept in memory (each at most 2 × max_turns turns), least recently used dropped first
INDEX_NAME = "ix_events_sender_id_id"


@dataclass
class Entry:
    tracker: DialogueStateTracker
    saved: int  # how many of tracker.events the database holds
    first_id: Optional[int]  # the conversation's first and last event ids in the database
    last_id: Optional[int]


def _turn_starts(events: List[Event]) -> List[int]:
    """Indexes of the `action_listen` events that a user message follows: where turns begin."""
    return [i for i, (event, following) in enumerate(zip(events, events[1:]))
            if isinstance(event, ActionExecuted) and event.action_name == ACTION_LISTEN_NAME
            and isinstance(following, UserUttered)]


class BoundedSQLTrackerStore(CheckedSQLTrackerStore):
    def __init__(self, *args: Any, max_turns: Optional[int] = None, max_conversations: Optional[int] = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_turns = int(max_turns or DEFAULT_MAX_TURNS)
        self.max_conversations = int(max_conversations or DEFAULT_MAX_CONVERSATIONS)
        self._entries: "OrderedDict[Text, Entry]" = OrderedDict()
        # The calls come from the tracker store's threads (runtime/store_outage.py): one message of
        # a conversation at a time (its lock), several conversations at once.
        self._entries_lock = threading.Lock()
        self._create_index()

    def _create_index(self) -> None:
        index = sa.Index(INDEX_NAME, self.SQLEvent.sender_id, self.SQLEvent.id)
        try:
            index.create(self.engine, checkfirst=True)
        except sa.exc.SQLAlchemyError:  # another instance created it at the same moment
            if INDEX_NAME not in {i["name"] for i in sa.inspect(self.engine).get_indexes(self.SQLEvent.__tablename__)}:
                raise

    # --- the database ------------------------------------------------------------------------
    def _id_range(self, sender_id: Text) -> Tuple[Optional[int], Optional[int]]:
        with self.session_scope() as session:
            return tuple(session.query(sa.func.min(self.SQLEvent.id), sa.func.max(self.SQLEvent.id)).filter(
                self.SQLEvent.sender_id == sender_id).one())

    def _events_after(self, sender_id: Text, last_id: int) -> List[Tuple[int, Event]]:
        with self.session_scope() as session:
            rows = session.query(self.SQLEvent.id, self.SQLEvent.data).filter(
                self.SQLEvent.sender_id == sender_id, self.SQLEvent.id > last_id).order_by(self.SQLEvent.id).all()
        return [(row_id, Event.from_parameters(json.loads(data))) for row_id, data in rows]

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        entry = self._entries.get(tracker.sender_id)
        if entry is not None and entry.tracker is tracker:
            return itertools.islice(tracker.events, entry.saved, None)  # what was added since retrieve
        return super()._additional_events(session, tracker)  # a tracker Rasa made: counted as Rasa does

    # --- the tracker store -------------------------------------------------------------------
    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        entry = self._entries.pop(sender_id, None)
        if entry is not None and len(entry.tracker.events) != entry.saved:
            logger.debug(f"Tracker of '{sender_id}' changed without being saved: read again.")
            entry = None
        first_id, last_id = self._id_range(sender_id)
        if entry is not None and (first_id, last_id) != (entry.first_id, entry.last_id):
            grown = first_id == entry.first_id and None not in (last_id, entry.last_id) and last_id > entry.last_id
            newer = self._events_after(sender_id, entry.last_id) if grown else []  # saved by another instance
            if newer:
                for _id, event in newer:
                    entry.tracker.update(event)
                entry.saved, entry.last_id = len(entry.tracker.events), newer[-1][0]
            else:  # events deleted: "forget me", the purge
                entry = None
        if entry is None:
            tracker = await super().retrieve(sender_id)
            if tracker is None:
                return None
            entry = Entry(tracker, len(tracker.events), first_id, last_id)
        self._remember(sender_id, entry)
        return entry.tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await super().save(tracker)  # writes self._additional_events(…), or forgets the conversation
            if asked_to_forget(tracker):  # deleted from the database: nothing of it stays in memory either
                self._entries.pop(tracker.sender_id, None)
                return
            first_id, last_id = self._id_range(tracker.sender_id)
        except Exception:
            self._entries.pop(tracker.sender_id, None)
            raise
        entry = self._entries.get(tracker.sender_id)
        if entry is None or entry.tracker is not tracker:
            entry = Entry(tracker, 0, first_id, None)
        # The first id is kept as it was read: a deletion during the message (the purge) makes the
        # next retrieve read the conversation again.
        entry.first_id = first_id if entry.first_id is None else entry.first_id
        entry.saved, entry.last_id = len(tracker.events), last_id
        self._remember(tracker.sender_id, self._bounded(entry))

    def _remember(self, sender_id: Text, entry: Entry) -> None:
        with self._entries_lock:
            self._entries.pop(sender_id, None)
            self._entries[sender_id] = entry
            while len(self._entries) > self.max_conversations:
                self._entries.popitem(last=False)

    # --- the bound ---------------------------------------------------------------------------
    def _bounded(self, entry: Entry) -> Entry:
        """The entry, or one whose tracker starts at a later turn (see the module's docstring)."""
        events = list(entry.tracker.events)
        session_starts = [i for i, event in enumerate(events) if isinstance(event, SessionStarted)]
        cut = None
        if session_starts and session_starts[-1] > 1:  # an earlier session: not part of this one
            cut = session_starts[-1] - 1
        turns = _turn_starts(events)
        if len(turns) >= 2 * self.max_turns and turns[-self.max_turns] > (cut or 0):
            cut = turns[-self.max_turns]
        if cut is None:
            return entry
        sender_id = entry.tracker.sender_id
        before = DialogueStateTracker.from_events(sender_id, events[:cut], self.domain.slots)
        if before.active_loop_name:
            return entry
        timestamp = events[cut].timestamp
        start: List[Event] = [ActionExecuted(ACTION_SESSION_START_NAME, timestamp=timestamp),
                              SessionStarted(timestamp=timestamp)]
        start += [SlotSet(slot.name, slot.value, timestamp=timestamp)
                  for slot in before.slots.values() if slot.has_been_set]
        kept = events[cut:]
        if isinstance(kept[0], ActionExecuted) and kept[0].action_name == ACTION_SESSION_START_NAME:
            start = []  # the session's own start (and the slots it carried over)
        tracker = DialogueStateTracker.from_events(sender_id, start + kept, self.domain.slots)
        for attribute in ("model_id", "assistant_id"):
            setattr(tracker, attribute, getattr(entry.tracker, attribute, None))
        return Entry(tracker, len(tracker.events), entry.first_id, entry.last_id)
