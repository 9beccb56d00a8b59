"""A tracker store outage refuses the message instead of silently forgetting the conversation.

Rasa 3.6 wraps every tracker store in `FailSafeTrackerStore` (rasa/core/tracker_store.py): while the
database is down its `retrieve` returns None — the processor then starts the conversation afresh,
a form in progress forgotten — and its `save` writes to an in-memory store that nothing reads, so
the turn is lost. `install()` makes both raise `stores.probes.TrackerStoreDown` after Rasa's own
log line: the message then
fails, and the guarded channels (channels/guard.py) answer "temporarily unavailable, please try
again" in the conversation's language; once the database is back, the next message goes on from
the stored conversation. (The other way the issue allowed, serving from memory and writing later,
would need each instance to keep and replay the turns of a down database, in order, across
instances: not done.)
"""

from typing import Optional, Text

from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from stores.probes import TrackerStoreDown

# Rasa's methods, kept for the tests' comparison.
RASA_RETRIEVE = FailSafeTrackerStore.retrieve
RASA_SAVE = FailSafeTrackerStore.save
RASA_RETRIEVE_FULL = FailSafeTrackerStore.retrieve_full_tracker


async def _read(self: FailSafeTrackerStore, method: str, sender_id: Text) -> Optional[DialogueStateTracker]:
    try:
        return await getattr(self._tracker_store, method)(sender_id)
    except Exception as error:
        self.on_tracker_store_retrieve_error(error)
        raise TrackerStoreDown(f"the conversation could not be read: {error}") from error


async def retrieve(self: FailSafeTrackerStore, sender_id: Text) -> Optional[DialogueStateTracker]:
    return await _read(self, "retrieve", sender_id)


async def retrieve_full_tracker(self: FailSafeTrackerStore, sender_id: Text) -> Optional[DialogueStateTracker]:
    return await _read(self, "retrieve_full_tracker", sender_id)


async def save(self: FailSafeTrackerStore, tracker: DialogueStateTracker) -> None:
    try:
        await self._tracker_store.save(tracker)
    except Exception as error:
        self.on_tracker_store_error(error)
        raise TrackerStoreDown(f"the turn could not be stored: {error}") from error


def install() -> None:
    FailSafeTrackerStore.retrieve = retrieve
    FailSafeTrackerStore.retrieve_full_tracker = retrieve_full_tracker
    FailSafeTrackerStore.save = save
