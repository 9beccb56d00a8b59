"""Rasa's SQL tracker store, made to refuse a start without its database.

    tracker_store:
      type: stores.sql_tracker_store.CheckedSQLTrackerStore
      dialect: postgresql
      url: ${DB_HOST}
      port: ${DB_PORT}
      db: ${DB_NAME}
      username: ${DB_USER}
      password: ${DB_PASSWORD}
      # startup_wait: 10      seconds to wait for the database at start (default: $STORE_STARTUP_WAIT or 10)
      # connect_timeout: 5    seconds per connection attempt (PostgreSQL)

Stock `SQLTrackerStore` with the database down at start logs "Could not create tables" and serves
anyway; every conversation then lives in the memory of one instance (Rasa's FailSafeTrackerStore)
with only a log line per message. This subclass:

- waits up to `startup_wait` seconds for the database, then raises `StoreUnavailable` (a
  RasaException: `rasa run` exits with status 1 and the message, before opening its port);
- checks, once the tables are created, that the events table is there (another instance may be
  creating it at the same moment: it waits for it);
- checks pooled connections before each use (`pool_pre_ping`), so the first saves after a database
  restart do not fail on dead connections and fall back to memory;
- offers `ping()`, used by `GET /health` (stores.health);
- with SQLite, keeps its connections open and sets `secure_delete` and a write-ahead log on each
  (deleted conversations are overwritten; a save does not wait for the disk);
- deletes a conversation when a turn ran "forget me" (`save`), instead of saving that turn;
- refuses to commit after a deadline the caller set for its thread (`commit_by`, which also
  notes whether a commit was made), and, on
  PostgreSQL, has the server end a session that sits in a transaction for more than
  IDLE_IN_TRANSACTION_TIMEOUT seconds. Together they keep a save that its caller gave up on (a
  frozen database: runtime/store_outage.py) from being committed once the database resumes: a
  COMMIT sent before the deadline and still unread when the caller gave up finds its session
  ended by the server; a save still in its INSERTs gets no COMMIT at all. (Left open: a frozen
  server that had read the COMMIT and stopped before answering it completes it on resume.)
"""

import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from stores.probes import StoreUnavailable, describe, probe_sql_engine

logger = logging.getLogger(__name__)

FORGET_ACTION = "action_forget_me"  # actions/privacy.py
DEFAULT_STARTUP_WAIT = 10.0
DEFAULT_CONNECT_TIMEOUT = 5
# seconds a PostgreSQL session may sit in a transaction between two statements before the server
# ends it; a save sends its statements back to back, so only a frozen server or client waits that long
IDLE_IN_TRANSACTION_TIMEOUT = 1.0

_thread_window = threading.local()


class CommitTooLate(sa.exc.SQLAlchemyError):
    """A save reached its commit after the deadline its caller set: rolled back."""


@dataclass
class SaveWindow:
    """The deadline of a thread's commits, and whether one was committed (then the turn is
    stored, whatever the save does or fails to do after it)."""

    deadline: float  # time.monotonic()
    committed: bool = False


@contextmanager
def commit_by(window: SaveWindow) -> Iterator[SaveWindow]:
    """No commit from this thread after `window.deadline` while inside; a commit is noted in it."""
    _thread_window.current = window
    try:
        yield window
    finally:
        _thread_window.current = None


def _note_commit(session: Any) -> None:
    window = getattr(_thread_window, "current", None)
    if window is not None:
        window.committed = True


def _refuse_late_commit(connection: Any) -> None:
    window = getattr(_thread_window, "current", None)
    if window is not None and time.monotonic() > window.deadline:
        raise CommitTooLate(f"the commit came {time.monotonic() - window.deadline:.1f} s after its deadline")


def _seconds(value: Any, default: float) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return float(value)


def _sqlite_settings(connection: Any, _: Any) -> None:
    """- `secure_delete`: SQLite keeps deleted rows in free pages unless it is on. Debian's build
      turns it on by default, others do not: a forgotten conversation must not stay readable.
    - A write-ahead log with `synchronous = NORMAL`: a commit appends to the log without waiting
      for the disk. In the default rollback-journal mode each save waited about 13 ms for it
      (measured here), with the server's event loop blocked. An application crash loses nothing; a
      power cut may lose the last turns. A deletion empties the log (`empty_write_ahead_log`)."""
    connection.execute("PRAGMA secure_delete = ON")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")


def empty_write_ahead_log(session: Any) -> None:
    """After a deletion, on SQLite: the log still holds pages of the deleted rows until they are
    copied back into the file; a TRUNCATE checkpoint copies them (overwritten, `secure_delete`)
    and empties the log."""
    if session.get_bind().url.get_backend_name() == "sqlite":
        session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))


def asked_to_forget(tracker: DialogueStateTracker) -> bool:
    """Whether the latest turn (since the latest user message) ran the "forget me" action."""
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted) and event.action_name == FORGET_ACTION:
            return True
        if isinstance(event, UserUttered):
            return False
    return False


class CheckedSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that raises `StoreUnavailable` at creation when its database cannot be used."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        dialect: Text = "sqlite",
        host: Optional[Text] = None,
        port: Optional[int] = None,
        db: Text = "rasa.db",
        username: Text = None,
        password: Text = None,
        event_broker: Optional[EventBroker] = None,
        login_db: Optional[Text] = None,
        query: Optional[Dict] = None,
        startup_wait: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        wait = _seconds(startup_wait, _seconds(os.environ.get("STORE_STARTUP_WAIT"), DEFAULT_STARTUP_WAIT))
        timeout = int(_seconds(connect_timeout, DEFAULT_CONNECT_TIMEOUT))
        if dialect.startswith("postgresql") and not (host and "://" in host):
            query = {"connect_timeout": str(timeout), **(query or {})}
        url = self.get_db_url(dialect, host, port, db, username, password, login_db, query)
        self._wait_for_database(url, wait)

        super().__init__(domain, dialect, host, port, db, username, password, event_broker, login_db, query,
                         **kwargs)

        # Rebuild the engine with pre-ping (dead pooled connections are replaced, not used).
        engine_url = self.engine.url
        self.engine.dispose()
        kwargs = create_engine_kwargs(engine_url)
        if engine_url.get_backend_name() == "postgresql":
            connect_args = kwargs.setdefault("connect_args", {})
            connect_args["options"] = " ".join(filter(None, (
                connect_args.get("options"),
                f"-c idle_in_transaction_session_timeout={int(IDLE_IN_TRANSACTION_TIMEOUT * 1000)}")))
        if engine_url.get_backend_name() == "sqlite":
            # Connections kept open, as SQLAlchemy 2.0 does for SQLite files (1.4 opens one per
            # session): closing the last one would checkpoint the log, waiting for the disk.
            kwargs.update(poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False})
        self.engine = sa.create_engine(engine_url, pool_pre_ping=True, **kwargs)
        if self.engine.url.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_settings)
        sa.event.listen(self.engine, "commit", _refuse_late_commit)  # called just before the DBAPI commit
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        sa.event.listen(self.sessionmaker, "after_commit", _note_commit)
        self._wait_for_table(wait)
        logger.info(f"Tracker store: {self.engine.url.get_backend_name()} database "
                    f"'{self.engine.url.database}' is up.")

    @staticmethod
    def _where(url: Any) -> str:
        url = sa.engine.make_url(url) if isinstance(url, str) else url
        if url.get_backend_name() == "sqlite":
            return f"SQLite file '{url.database}'"
        return f"{url.get_backend_name()} database '{url.database}' at {url.host}:{url.port or 'default port'}" \
               f" as user '{url.username}'"

    def _wait_for_database(self, url: Any, wait: float) -> None:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        deadline = time.monotonic() + wait
        attempts = 0
        try:
            while True:
                attempts += 1
                try:
                    probe_sql_engine(engine)
                    return
                except sa.exc.SQLAlchemyError as error:
                    if time.monotonic() >= deadline:
                        raise StoreUnavailable(
                            f"Tracker store unreachable: cannot connect to the {self._where(url)} "
                            f"({describe(error)}; {attempts} attempt(s) in {wait:g} s). Rasa will not serve "
                            f"without its tracker store: start the database or fix DB_HOST, DB_PORT, DB_NAME, "
                            f"DB_USER, DB_PASSWORD.") from error
                    if attempts == 1:
                        logger.warning(f"Tracker store: waiting up to {wait:g} s for the {self._where(url)} "
                                       f"({describe(error)}).")
                    time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        finally:
            engine.dispose()

    def _wait_for_table(self, wait: float) -> None:
        table = self.SQLEvent.__tablename__
        deadline = time.monotonic() + max(wait, 2.0)
        while True:
            try:
                if sa.inspect(self.engine).has_table(table):
                    return
                problem = f"table '{table}' is missing"
                self.Base.metadata.create_all(self.engine)  # another instance may have failed half-way
            except sa.exc.SQLAlchemyError as error:
                problem = describe(error)
            if time.monotonic() >= deadline:
                raise StoreUnavailable(f"Tracker store unusable: the {self._where(self.engine.url)} is reachable "
                                       f"but its events table cannot be created ({problem}).")
            time.sleep(0.5)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save, except for a turn that ran "forget me": then every stored event of the
        conversation is deleted, and nothing of the turn is written (the next message starts a new
        conversation). One transaction, under the conversation's lock, on SQLite and PostgreSQL alike,
        whichever instance handled the turn."""
        if not asked_to_forget(tracker):
            await super().save(tracker)
            return
        with self.session_scope() as session:
            deleted = session.query(self.SQLEvent).filter(self.SQLEvent.sender_id == tracker.sender_id).delete()
            session.commit()
            empty_write_ahead_log(session)
        logger.info(f"Forget me: {deleted} stored events of a conversation deleted.")

    def ping(self) -> None:
        """Raises when the database does not answer `SELECT 1`."""
        probe_sql_engine(self.engine)
