"""The conversations where Rasa's SQL tracker store keeps them (its table `events`: one row per
event, with sender_id, type_name, timestamp, intent_name, action_name and the event as JSON in
`data`), for the operators' scripts (scripts/purge_conversations.py, scripts/unanswered.py); "forget
me" is the tracker store's own (stores/sql_tracker_store.py). SQLAlchemy Core only, no Rasa import.

The database: CONVERSATIONS_DB, a SQLAlchemy URL (e.g. postgresql://user:password@host:5432/rasa)
or the path of a SQLite file (relative paths from the project root), by default
var/conversations.db: the tracker store of the default endpoints.yml (Rasa resolves its relative
`db` from its working directory, the project root when started by scripts/run.sh). It must be
the very database of the tracker store; with PostgreSQL, POSTGRESQL_SCHEMA is honoured as Rasa
honours it.

How Rasa reads a conversation (rasa/core/tracker_store.py, SQLTrackerStore): the events of a sender
whose timestamp is at or after the latest `session_started` event, ordered by id; it saves a turn
by counting those rows and appending the tracker's events beyond that count, in one transaction.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "var" / "conversations.db"

METADATA = sa.MetaData()
EVENTS = sa.Table(
    "events",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)


def database_url(value: Optional[str] = None) -> str:
    """The SQLAlchemy URL of the conversations: `value`, else $CONVERSATIONS_DB, else the default."""
    value = (value or os.environ.get("CONVERSATIONS_DB") or "").strip() or str(DEFAULT_DB)
    if "://" in value:
        return value
    path = Path(value)
    return f"sqlite:///{path if path.is_absolute() else ROOT / path}"


def sqlite_file_missing(url: Optional[str] = None) -> bool:
    """Whether the database is a SQLite file that does not exist (connecting would create it)."""
    url = database_url(url)
    return url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists()


def engine_for(url: Optional[str] = None) -> sa.engine.Engine:
    url = database_url(url)
    kwargs: dict = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 15}  # wait for Rasa's own writes rather than fail
    elif url.startswith("postgresql") and os.environ.get("POSTGRESQL_SCHEMA"):
        kwargs["connect_args"] = {"options": f"-csearch_path={os.environ['POSTGRESQL_SCHEMA']}"}
        kwargs["pool_pre_ping"] = True
    else:
        kwargs["pool_pre_ping"] = True
    return sa.create_engine(url, **kwargs)


def has_events_table(engine: sa.engine.Engine) -> bool:
    return sa.inspect(engine).has_table("events")


def empty_write_ahead_log(engine: sa.engine.Engine) -> None:
    """After a deletion, on SQLite (a write-ahead log, stores/sql_tracker_store.py): the log's pages
    are copied back into the file (the deleted rows overwritten) and the log emptied, so that no
    deleted row stays readable in it."""
    if engine.url.get_backend_name() == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


FORGET_ACTION = "action_forget_me"


def _forgetting_cut(connection: sa.engine.Connection, sender_id: str) -> Optional[float]:
    """Where the forgotten part of a conversation ends: the first user message after its latest
    "forget me" turn (the events before it are to be deleted), infinity when there is none yet,
    None when the conversation never asked to be forgotten (or nothing of it is left)."""
    asked = connection.execute(
        sa.select(sa.func.max(EVENTS.c.timestamp))
        .where(EVENTS.c.sender_id == sender_id, EVENTS.c.type_name == "action", EVENTS.c.action_name == FORGET_ACTION)
    ).scalar()
    if asked is None:
        return None
    next_message = connection.execute(
        sa.select(sa.func.min(EVENTS.c.timestamp))
        .where(EVENTS.c.sender_id == sender_id, EVENTS.c.type_name == "user", EVENTS.c.timestamp > asked)
    ).scalar()
    return float("inf") if next_message is None else next_message


def finish_forgetting(engine: sa.engine.Engine, sender_id: Optional[str] = None, dry_run: bool = False) -> int:
    """Deletes what is left of conversations that asked to be forgotten (of one sender, or of
    all): every event before the first user message that followed their latest "forget me"
    turn, the turn itself included. The number of events deleted (or to delete, `dry_run`)."""
    deleted = 0
    with engine.begin() as connection:
        if sender_id is None:
            senders = connection.execute(
                sa.select(EVENTS.c.sender_id).distinct()
                .where(EVENTS.c.type_name == "action", EVENTS.c.action_name == FORGET_ACTION)
            ).scalars().all()
        else:
            senders = [sender_id]
        for sender in senders:
            cut = _forgetting_cut(connection, sender)
            if cut is None:
                continue
            condition = EVENTS.c.sender_id == sender
            if cut != float("inf"):
                condition = sa.and_(condition, EVENTS.c.timestamp < cut)
            if dry_run:
                deleted += connection.execute(sa.select(sa.func.count()).select_from(EVENTS).where(condition)).scalar() or 0
            else:
                deleted += connection.execute(sa.delete(EVENTS).where(condition)).rowcount or 0
    if not dry_run:
        empty_write_ahead_log(engine)
    return deleted


@dataclass
class PurgeResult:
    conversations: int  # conversations deleted entirely (last event older than the cut-off)
    events: int  # events deleted in all
    forgotten: int = 0  # events left by "forget me" turns whose clean-up was interrupted


def purge(engine: sa.engine.Engine, older_than: float, dry_run: bool = False) -> PurgeResult:
    """Deletes every event older than `older_than` (a Unix time) that Rasa no longer reads:
    whole conversations whose last event is older, and, in the others, the events of the sessions
    before the current one (Rasa reads a conversation from its latest session_started event on).
    The current session of a conversation still in use is kept whole. What is left of
    conversations that asked to be forgotten is deleted too (`finish_forgetting`)."""
    stale_senders = (
        sa.select(EVENTS.c.sender_id).group_by(EVENTS.c.sender_id)
        .having(sa.func.max(EVENTS.c.timestamp) < older_than)
    )
    later = EVENTS.alias("later")
    current_session_start = (
        sa.select(sa.func.max(later.c.timestamp))
        .where(later.c.sender_id == EVENTS.c.sender_id, later.c.type_name == "session_started")
        .scalar_subquery()
    )
    old_sessions = sa.and_(
        EVENTS.c.timestamp < older_than,
        EVENTS.c.timestamp < current_session_start,
        EVENTS.c.sender_id.not_in(stale_senders),
    )
    with engine.begin() as connection:
        count = lambda condition: connection.execute(  # noqa: E731
            sa.select(sa.func.count()).select_from(EVENTS).where(condition)).scalar() or 0
        conversations = connection.execute(sa.select(sa.func.count()).select_from(stale_senders.subquery())).scalar() or 0
        if dry_run:
            forgotten = finish_forgetting(engine, dry_run=True)
            return PurgeResult(conversations, count(EVENTS.c.sender_id.in_(stale_senders)) + count(old_sessions) + forgotten,
                               forgotten)
        events = connection.execute(sa.delete(EVENTS).where(EVENTS.c.sender_id.in_(stale_senders))).rowcount or 0
        events += connection.execute(sa.delete(EVENTS).where(old_sessions)).rowcount or 0
    forgotten = finish_forgetting(engine)  # empties the write-ahead log
    return PurgeResult(conversations, events + forgotten, forgotten)


@dataclass
class Row:
    id: int
    sender_id: str
    type_name: str
    timestamp: Optional[float]
    intent_name: Optional[str]
    action_name: Optional[str]
    data: Optional[str]


def events(engine: sa.engine.Engine, since: Optional[float] = None, type_names: Optional[tuple] = None) -> Iterator[Row]:
    """Events ordered by conversation, then as Rasa orders them (id)."""
    query = sa.select(EVENTS).order_by(EVENTS.c.sender_id, EVENTS.c.id)
    if since is not None:
        query = query.where(EVENTS.c.timestamp >= since)
    if type_names is not None:
        query = query.where(EVENTS.c.type_name.in_(type_names))
    with engine.connect() as connection:
        for row in connection.execute(query.execution_options(yield_per=1000)):
            yield Row(**row._mapping)
