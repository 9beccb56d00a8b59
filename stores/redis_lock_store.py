"""Rasa's Redis lock store with atomic ticket operations, for several Rasa instances.

    lock_store:
      type: stores.redis_lock_store.AtomicRedisLockStore
      url: ${REDIS_HOST}
      port: ${REDIS_PORT}
      password: ${REDIS_PASSWORD}
      db: 1
      # key_prefix: clusters    alphanumeric; keys are "<prefix>:lock:<conversation id>"
      # poll_interval: 0.1      seconds between two looks at a busy conversation's lock (Rasa: 1)
      # startup_wait: 10        seconds to wait for Redis at start (default: $STORE_STARTUP_WAIT or 10)
      # socket_timeout: 2       seconds a Redis call waits for its answer or its connection (Rasa: 10)

Rasa serialises the messages of one conversation with a ticket lock (rasa/core/lock.py): each
message takes the next ticket number, waits until its number is the first in the queue, and removes
its ticket when done (the lock is deleted when the queue is empty). Rasa's `RedisLockStore` does
each step as GET, change in Python, SET: between two instances, two messages arriving at the same
moment can both read the same queue and both get ticket N (both then process the conversation at
once: events lost or duplicated), and a ticket added while another instance removes its own can be
overwritten or deleted with the lock (the waiting message fails with "Could not acquire lock").
RasaHQ/rasa#11256 fixed this and was reverted (#11428).

Here every change of a lock (issue a ticket; drop expired tickets; remove a finished ticket and
delete the lock when nobody waits) is one optimistic transaction: WATCH the key, read, change,
MULTI/SET (or DEL)/EXEC, and retry if another client changed the key meanwhile. The stored format
is Rasa's (`TicketLock.dumps()`), under Rasa's key names. Also:
- a waiting message looks at the lock every `poll_interval` seconds (default 0.1; Rasa's 1 s adds up
  to a second to a message that arrives while the previous one is being answered);
- a message whose ticket expired while it waited (TICKET_LOCK_LIFETIME, default 60 s) fails with
  LockError instead of waiting for ever;
- lock keys expire a minute after their last ticket would, so a crashed instance leaves no key;
- Redis unreachable at creation raises `StoreUnavailable` (`rasa run` exits with status 1) after
  `startup_wait` seconds; `ping()` serves `GET /health`;
- a frozen Redis (SIGSTOP, a network partition: the kernel still acknowledges, nothing answers)
  does not freeze the instance. Rasa calls its lock store on the event loop with a socket timeout
  of 10 s (and none for the connection), so every message stalled the whole instance, `GET /`
  included, for 10 s per Redis call. Here the calls run in threads of their own pool
  (LOCK_THREADS), each bounded by `socket_timeout` (for the connection too); a call that timed
  out makes every call fail at once (LockError: the user is asked to retry) for RETRY_AFTER
  seconds, then one call tries Redis again (the others still fail at once) until one answers. A
  ticket that could not be removed when its message was done is removed once Redis answers again
  (else the conversation's next message would wait for it to expire: TICKET_LOCK_LIFETIME).
"""

import asyncio
import collections
import json
import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable, Optional, Text, Tuple

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from stores.probes import Frozen, StoreUnavailable, describe

logger = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 0.1
DEFAULT_STARTUP_WAIT = 10.0
MAX_ATTEMPTS = 200  # optimistic transaction retries before giving up (each retry means progress elsewhere)
KEY_GRACE_SECONDS = 60
DEFAULT_SOCKET_TIMEOUT = 2.0
RETRY_AFTER = 3.0  # seconds a frozen Redis is not called before one call tries it again
LOCK_THREADS = 16  # a frozen Redis holds one per call in flight (for socket_timeout at most)
MAX_LEFT_TICKETS = 10_000  # tickets to remove once Redis answers again; older ones expire by themselves

_UNCHANGED = object()


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _number(value: Any, default: float) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return float(value)


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose read-modify-write steps are atomic across instances."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        options = dict(endpoint_config.kwargs) if endpoint_config else {}
        options.update(kwargs)
        host = (endpoint_config.url if endpoint_config and endpoint_config.url else None) \
            or options.pop("host", None) or "localhost"
        options.pop("host", None)
        self.poll_interval = _number(options.pop("poll_interval", None), DEFAULT_POLL_INTERVAL)
        startup_wait = _number(options.pop("startup_wait", None),
                               _number(os.environ.get("STORE_STARTUP_WAIT"), DEFAULT_STARTUP_WAIT))
        password = options.pop("password", None) or None  # "" (an empty ${REDIS_PASSWORD}) means none
        username = options.pop("username", None) or None
        super().__init__(
            host=host,
            port=int(_number(options.pop("port", None), 6379)),
            db=int(_number(options.pop("db", None), 1)),
            username=username,
            password=password,
            use_ssl=_flag(options.pop("use_ssl", False)),
            ssl_certfile=options.pop("ssl_certfile", None),
            ssl_keyfile=options.pop("ssl_keyfile", None),
            ssl_ca_certs=options.pop("ssl_ca_certs", None),
            key_prefix=options.pop("key_prefix", None),
            socket_timeout=_number(options.pop("socket_timeout", None), DEFAULT_SOCKET_TIMEOUT),
        )
        # Rasa passes no connection timeout: connecting to a frozen Redis would wait for ever
        self.red.connection_pool.connection_kwargs["socket_connect_timeout"] = \
            self.red.connection_pool.connection_kwargs["socket_timeout"]
        self._pool = ThreadPoolExecutor(LOCK_THREADS, thread_name_prefix="lock-store")
        self._left_tickets: "collections.deque[Tuple[Text, int]]" = collections.deque(maxlen=MAX_LEFT_TICKETS)
        if options:
            logger.warning(f"Lock store: ignoring unknown options {sorted(options)}.")
        self._where = f"Redis at {host}:{self.red.connection_pool.connection_kwargs.get('port')}" \
                      f" (db {self.red.connection_pool.connection_kwargs.get('db')})"
        self._frozen = Frozen(f"Lock store: {self._where}", RETRY_AFTER)
        self._wait_for_redis(startup_wait)

    # --- start-up and health -----------------------------------------------------------------
    def _wait_for_redis(self, wait: float) -> None:
        deadline = time.monotonic() + wait
        attempts = 0
        while True:
            attempts += 1
            try:
                self.red.ping()
                logger.info(f"Lock store: {self._where} is up.")
                return
            except redis.RedisError as error:
                if time.monotonic() >= deadline:
                    raise StoreUnavailable(
                        f"Lock store unreachable: cannot connect to {self._where} ({describe(error)}; "
                        f"{attempts} attempt(s) in {wait:g} s). Rasa will not serve without its lock store: "
                        f"start Redis or fix REDIS_HOST, REDIS_PORT, REDIS_PASSWORD.") from error
                if attempts == 1:
                    logger.warning(f"Lock store: waiting up to {wait:g} s for {self._where} ({describe(error)}).")
                time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def ping(self) -> None:
        """Raises when Redis does not answer PING."""
        self.red.ping()

    # --- atomic changes ----------------------------------------------------------------------
    def _change(self, conversation_id: Text,
                change: Callable[[Optional[TicketLock]], Tuple[Any, Any]]) -> Any:
        """Applies `change(lock) -> (new lock | None to delete | _UNCHANGED, result)` atomically."""
        key = self.key_prefix + conversation_id
        for attempt in range(MAX_ATTEMPTS):
            with self.red.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    new_lock, result = change(lock)
                    if new_lock is _UNCHANGED:
                        pipe.unwatch()
                        return result
                    pipe.multi()
                    if new_lock is None:
                        pipe.delete(key)
                    else:
                        pipe.set(key, new_lock.dumps(), ex=self._key_ttl(new_lock))
                    pipe.execute()
                    return result
                except redis.WatchError as error:
                    if isinstance(error.__context__, (redis.ConnectionError, redis.TimeoutError)):
                        # redis-py reports a connection lost while watching as a WatchError: not a
                        # conflict to retry (a frozen Redis would be tried MAX_ATTEMPTS times)
                        raise error.__context__
                    time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 10)))
        raise LockError(f"Lock for conversation '{conversation_id}' kept changing: gave up after "
                        f"{MAX_ATTEMPTS} attempts.")

    @staticmethod
    def _key_ttl(lock: TicketLock) -> int:
        latest = max((ticket.expires for ticket in lock.tickets), default=time.time())
        return max(1, int(latest - time.time()) + KEY_GRACE_SECONDS)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issues the next ticket of the conversation's lock (created if missing), atomically."""

        def change(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, change)
        except LockError:
            raise
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        """Drops expired tickets, atomically."""

        def change(lock: Optional[TicketLock]) -> Tuple[Any, None]:
            if lock is None:
                return _UNCHANGED, None
            before = len(lock.tickets)
            lock.remove_expired_tickets()
            return (lock if len(lock.tickets) != before else _UNCHANGED), None

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        """Removes a ticket (and the lock, if it was the last one), atomically."""
        self.cleanup(conversation_id, ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """Removes the ticket; deletes the lock in the same transaction when nobody else waits."""

        def change(lock: Optional[TicketLock]) -> Tuple[Any, None]:
            if lock is None:
                return _UNCHANGED, None
            lock.remove_ticket_for(ticket_number)  # also drops expired tickets
            if not lock.is_someone_waiting():
                return None, None
            return lock, None

        self._change(conversation_id, change)
        logger.debug(f"Finished ticket {ticket_number} of conversation '{conversation_id}'.")

    # --- off the event loop --------------------------------------------------------------------
    async def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        """`method(*args)` in a thread of the store's pool; LockError if Redis fails or is frozen."""
        refusal = self._frozen.refusal()
        if refusal:
            raise LockError(refusal)
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._pool, method, *args)
        except Exception as error:
            self._frozen.ended(timed_out=isinstance(error, redis.TimeoutError)
                               or isinstance(error.__cause__, redis.TimeoutError))
            if isinstance(error, LockError):
                raise
            raise LockError(f"Lock store: {describe(error)}") from error
        except BaseException:  # the message cancelled
            self._frozen.ended()
            raise
        self._frozen.ended(answered=True)
        while self._left_tickets:
            conversation_id, ticket = self._left_tickets.popleft()
            try:
                await asyncio.get_running_loop().run_in_executor(self._pool, self.cleanup, conversation_id, ticket)
            except Exception as error:  # Redis failed again: it expires by itself
                logger.warning(f"Lock store: ticket {ticket} of a conversation still not removed ({describe(error)}).")
                break
        return result

    # --- waiting -------------------------------------------------------------------------------
    @asynccontextmanager
    async def lock(
        self,
        conversation_id: Text,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: Optional[float] = None,
    ) -> AsyncGenerator[TicketLock, None]:
        """Like Rasa's, polling every `poll_interval` seconds unless told otherwise."""
        wait = self.poll_interval if wait_time_in_seconds is None else wait_time_in_seconds
        ticket = await self._call(self.issue_ticket, conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait)
        finally:
            try:
                await self._call(self.cleanup, conversation_id, ticket)
            except LockError as error:  # the message was handled: its ticket is removed later
                self._left_tickets.append((conversation_id, ticket))
                logger.warning(f"Lock store: ticket {ticket} of a conversation not removed yet ({error}).")

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = await self._call(self.get_lock, conversation_id)
            if lock is None or lock._ticket_for_ticket_number(ticket) is None:
                break  # the lock or our ticket expired while we waited
            if not lock.is_locked(ticket):
                logger.debug(f"Acquired lock for conversation '{conversation_id}' (ticket {ticket}).")
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            await self._call(self.update_lock, conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}': its ticket "
                        f"{ticket} expired while waiting.")
