"""Reachability checks for the configured tracker store and lock store.

`probe_tracker_store` / `probe_lock_store` return None when the store answers and raise otherwise;
`store_status` runs both off the event loop, with a time limit, and says "up" or "down" for each.
Rasa wraps tracker stores (FailSafeTrackerStore, AwaitableTrackerStore); the probes look through
the wrappers at the real store. `Frozen` is how the stores' callers treat a store that stopped
answering (runtime/store_outage.py, stores/redis_lock_store.py).
"""

import asyncio
import logging
import time
from typing import Any, Callable, Dict, Optional

from rasa.shared.exceptions import ConnectionException

logger = logging.getLogger(__name__)

UP, DOWN = "up", "down"
DEFAULT_PROBE_TIMEOUT = 5.0


class TrackerStoreDown(Exception):
    """The tracker store failed while a message was handled (runtime/store_outage.py): the
    conversation could not be read, or the turn could not be stored."""


class Frozen:
    """A store whose call timed out (frozen, or cut off by a network partition): every call fails
    at once for `retry_after` seconds, then one call tries it (the others still fail at once),
    until one answers. Used from one event loop."""

    def __init__(self, what: str, retry_after: float) -> None:
        self.what, self.retry_after = what, retry_after
        self.since: Optional[float] = None
        self.retry_at = 0.0
        self.trying = False

    def refusal(self) -> Optional[str]:
        """Why the next call must fail at once; None: it may go (and `ended` must follow)."""
        if self.since is not None:
            if self.trying or time.monotonic() < self.retry_at:
                return f"{self.what} has not answered for {time.monotonic() - self.since:.0f} s"
            self.trying = True
        return None

    def ended(self, timed_out: bool = False, answered: bool = False) -> None:
        """After a call `refusal` let go: it timed out, it answered, or it failed otherwise."""
        self.trying = False
        if timed_out:
            if self.since is None:
                self.since = time.monotonic()
                logger.warning(f"{self.what}: no answer within its time limit; messages are refused (asked to "
                               f"retry) and it is tried again every {self.retry_after:g} s.")
            self.retry_at = time.monotonic() + self.retry_after
        elif answered and self.since is not None:
            logger.warning(f"{self.what}: answering again after {time.monotonic() - self.since:.0f} s.")
            self.since = None


class StoreUnavailable(ConnectionException):
    """A configured tracker store or lock store cannot be reached: Rasa must not serve.

    A RasaException, so `rasa run` ends with exit status 1 and this message (no stack trace)."""


def unwrap_tracker_store(store: Any) -> Any:
    """The store Rasa's wrappers (fail-safe, awaitable) hold, wrappers removed."""
    seen = 0
    while hasattr(store, "_tracker_store") and seen < 10:
        store = store._tracker_store
        seen += 1
    return store


def probe_sql_engine(engine: Any) -> None:
    import sqlalchemy as sa

    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def probe_tracker_store(store: Any) -> None:
    inner = unwrap_tracker_store(store)
    if hasattr(inner, "ping"):  # our stores
        inner.ping()
    elif hasattr(inner, "engine"):  # Rasa's SQLTrackerStore (SQLite, PostgreSQL, …)
        probe_sql_engine(inner.engine)
    elif hasattr(inner, "red"):  # Rasa's RedisTrackerStore
        inner.red.ping()
    elif hasattr(inner, "client") and hasattr(getattr(inner, "client"), "admin"):  # MongoTrackerStore
        inner.client.admin.command("ping")
    # InMemoryTrackerStore and unknown stores: nothing to reach


def probe_lock_store(store: Any) -> None:
    if hasattr(store, "ping"):
        store.ping()
    elif hasattr(store, "red"):  # Rasa's RedisLockStore
        store.red.ping()
    # InMemoryLockStore: nothing to reach


def describe(error: BaseException) -> str:
    """A one-line description of a connection error, without the driver's long tail."""
    text = str(getattr(error, "orig", None) or error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{error.__class__.__name__}: {first}" if first else error.__class__.__name__


async def _run_probe(probe: Callable[[Any], None], store: Any, timeout: float) -> Optional[str]:
    """None when the store answers, else why not."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, probe, store), timeout)
        return None
    except asyncio.TimeoutError:
        return f"no answer within {timeout:g} s"
    except Exception as error:  # any failure means down
        return describe(error)


async def store_problems(agent: Any, timeout: float = DEFAULT_PROBE_TIMEOUT) -> Dict[str, Optional[str]]:
    """{"tracker_store": None or the problem, "lock_store": None or the problem}."""
    if agent is None:
        return {"tracker_store": "the agent is not loaded", "lock_store": "the agent is not loaded"}
    tracker, lock = await asyncio.gather(
        _run_probe(probe_tracker_store, agent.tracker_store, timeout),
        _run_probe(probe_lock_store, agent.lock_store, timeout),
    )
    return {"tracker_store": tracker, "lock_store": lock}


async def store_status(agent: Any, timeout: float = DEFAULT_PROBE_TIMEOUT) -> Dict[str, str]:
    """{"tracker_store": "up"|"down", "lock_store": "up"|"down"}; problems are logged."""
    problems = await store_problems(agent, timeout)
    for name, problem in problems.items():
        if problem:
            logger.warning(f"Health: the {name.replace('_', ' ')} is down ({problem}).")
    return {name: DOWN if problem else UP for name, problem in problems.items()}


def store_names(agent: Any) -> Dict[str, str]:
    """The class names of the configured stores, for log lines."""
    return {"tracker_store": unwrap_tracker_store(agent.tracker_store).__class__.__name__,
            "lock_store": agent.lock_store.__class__.__name__}
