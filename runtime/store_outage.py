"""A tracker store outage refuses the message instead of silently forgetting the conversation, and
a frozen tracker store does not freeze the instance.

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

A frozen database (SIGSTOP, a network partition: the connection is neither refused nor answered)
is the other outage. Rasa calls its SQL store on the event loop, and psycopg2 has no read
timeout: a query just never returns, and the whole instance stalls, `GET /` included. Here each
call of a store reached over the network (not an SQLite file or memory, which nothing freezes and
whose calls stay on the loop) runs in a thread of its own pool (STORE_THREADS, with an event loop per
thread: Rasa's store methods are coroutines that never await anything but themselves), and the
instance waits CALL_TIMEOUT seconds for it: then it is TrackerStoreDown, as above. After such a
timeout the store is "frozen" for this instance (`stores.probes.Frozen`): every call fails at once
for RETRY_AFTER seconds, then one call tries it (the others still fail at once) until one
answers. The thread stays blocked on the frozen connection until the database resumes; so that a
save given up on is not committed then, it must commit within COMMIT_WITHIN seconds of its start
(`stores.sql_tracker_store.commit_by`), and PostgreSQL ends a session idle in its transaction for
longer than IDLE_IN_TRANSACTION_TIMEOUT: a COMMIT sent in time but unread when the wait ended
is refused by the server on resume (COMMIT_WITHIN + IDLE_IN_TRANSACTION_TIMEOUT < CALL_TIMEOUT).
Conversely, a save that failed or timed out after its commit (the store's own query after it,
the database stopped just then) stored its turn: it counts as saved, and the answer goes out (the
user was told to retry a message the conversation held, seen once in a PostgreSQL restart).
"""

import asyncio
import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, Text

from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from stores.probes import Frozen, TrackerStoreDown
from stores.sql_tracker_store import IDLE_IN_TRANSACTION_TIMEOUT, CommitTooLate, SaveWindow, commit_by

logger = logging.getLogger(__name__)

CALL_TIMEOUT = 4.5  # seconds a message waits for one call of the tracker store
COMMIT_WITHIN = CALL_TIMEOUT - IDLE_IN_TRANSACTION_TIMEOUT - 0.5  # 0.5 s for the server's timer and the network
RETRY_AFTER = 3.0  # seconds a frozen store is not called before one call tries it again
STORE_THREADS = 16  # a frozen store holds one per call in flight, plus one per try

# Rasa's methods, kept for the tests' comparison.
RASA_RETRIEVE = FailSafeTrackerStore.retrieve
RASA_SAVE = FailSafeTrackerStore.save
RASA_RETRIEVE_FULL = FailSafeTrackerStore.retrieve_full_tracker

_pool = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="tracker-store")
_thread_loops = threading.local()


def _run_in_thread(call: Callable[..., Any], argument: Any, started: float, window: SaveWindow) -> Any:
    if time.monotonic() - started > CALL_TIMEOUT:  # waited in the pool's queue: given up already
        raise TrackerStoreDown("the call started after its caller gave up")
    loop = getattr(_thread_loops, "loop", None)
    if loop is None:
        loop = _thread_loops.loop = asyncio.new_event_loop()
    with commit_by(window):
        return loop.run_until_complete(call(argument))


def _local(store: Any) -> bool:
    """A store nothing can freeze (an SQLite file, memory): no server that may stop answering. Its
    calls stay on the event loop: a thread per call cost a fifth of the throughput of `make run`."""
    engine = getattr(store, "engine", None)
    return isinstance(store, InMemoryTrackerStore) or (engine is not None and engine.dialect.name == "sqlite")


def _stored_anyway(window: SaveWindow, method: str, what: str) -> bool:
    """Whether a save that did not return (`what` happened) committed its turn: it counts as saved."""
    if window.committed and method == "save":
        logger.warning("Tracker store: a turn was stored, %s.", what)
        return True
    return False


async def _bounded(store: FailSafeTrackerStore, method: str, argument: Any) -> Any:
    """`store._tracker_store.<method>(argument)`, off the event loop, at most CALL_TIMEOUT seconds
    (on the loop for a local store)."""
    call = getattr(store._tracker_store, method)
    if _local(store._tracker_store):
        window = SaveWindow(math.inf)  # nobody gives up on it: only whether it committed matters
        try:
            with commit_by(window):  # Rasa's store methods never await: no other message runs inside
                return await call(argument)
        except Exception as error:
            if _stored_anyway(window, method, f"then the store failed ({error})"):
                return None
            raise
    if not hasattr(store, "_frozen"):
        store._frozen = Frozen("Tracker store", RETRY_AFTER)
    refusal = store._frozen.refusal()
    if refusal:
        raise TrackerStoreDown(refusal)
    started = time.monotonic()
    window = SaveWindow(started + COMMIT_WITHIN)
    try:
        result = await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
            _pool, _run_in_thread, call, argument, started, window), CALL_TIMEOUT)
    except asyncio.TimeoutError:
        store._frozen.ended(timed_out=True)
        if _stored_anyway(window, method, f"but the store did not return within {CALL_TIMEOUT:g} s"):
            return None  # only what follows the commit is late
        raise TrackerStoreDown(f"no answer from the tracker store within {CALL_TIMEOUT:g} s") from None
    except CommitTooLate as error:  # a slow save, rolled back: the same as a timeout for its message
        store._frozen.ended()
        logger.warning("Tracker store: a save was rolled back (%s).", error)
        raise TrackerStoreDown(f"the turn was not stored in time: {error}") from error
    except Exception as error:
        store._frozen.ended()
        if _stored_anyway(window, method, f"then the store failed ({error})"):  # the database stopped just after
            return None
        raise
    except BaseException:  # the message cancelled
        store._frozen.ended()
        raise
    store._frozen.ended(answered=True)
    return result


async def _read(self: FailSafeTrackerStore, method: str, sender_id: Text) -> Optional[DialogueStateTracker]:
    try:
        return await _bounded(self, method, sender_id)
    except TrackerStoreDown:
        raise
    except Exception as error:
        self.on_tracker_store_retrieve_error(error)
        raise TrackerStoreDown(f"the conversation could not be read: {error}") from error


async def retrieve(self: FailSafeTrackerStore, sender_id: Text) -> Optional[DialogueStateTracker]:
    return await _read(self, "retrieve", sender_id)


async def retrieve_full_tracker(self: FailSafeTrackerStore, sender_id: Text) -> Optional[DialogueStateTracker]:
    return await _read(self, "retrieve_full_tracker", sender_id)


async def save(self: FailSafeTrackerStore, tracker: DialogueStateTracker) -> None:
    try:
        await _bounded(self, "save", tracker)
    except TrackerStoreDown:
        raise
    except Exception as error:
        self.on_tracker_store_error(error)
        raise TrackerStoreDown(f"the turn could not be stored: {error}") from error


def install() -> None:
    FailSafeTrackerStore.retrieve = retrieve
    FailSafeTrackerStore.retrieve_full_tracker = retrieve_full_tracker
    FailSafeTrackerStore.save = save
