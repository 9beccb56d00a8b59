"""The work per message does not grow with the conversation (stores/bounded_tracker_store.py).

The model is loaded in this process as `rasa run` loads it (`load_agent` with an endpoints file),
talking to the real action server; the work of each message is counted where Rasa does it:

- events deserialised (`Event.from_parameters`: the stored events read back, and the events the
  action server returns);
- events sent to the action server (`RemoteAction._action_call_format`, both calls of a message);
- states the policies featurise (`DialogueStateTracker.past_states`).

On SQLite and on PostgreSQL + Redis (two instances sharing them, taking turns), the counts of
messages 61–80 are no higher than those of messages 11–30; with Rasa's own SQL tracker store
they grow (the control). A long conversation gets the same answers as with Rasa's store, with
the tracker cut every few turns. And the store itself: only another instance's new events are
read; an unsaved change, a deletion ("forget me") or a purge makes it read as Rasa reads.
"""

import asyncio
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import load_agent
from rasa.core.channels.channel import UserMessage
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from scripts.services import PostgresServer, RedisServer
from tests.servers import ACTION_SERVER_TOKEN, Servers, ensure_model

BOUNDED = "stores.bounded_tracker_store.BoundedSQLTrackerStore"
# Questions, follow-ups, lists, French: every message runs actions; no form stays open.
SCRIPT = ["What is Skywin?", "what are its axes?", "list the clusters of the health sector", "the second one",
          "compare BioWin and WagrALIM", "c'est quoi le plan Marshall ?", "how do we become a member?",
          "quels sont les secteurs clés ?", "what is clustering?", "hello"]
# With the guided recommendation (a form), a language switch and "start over" in the middle.
LONG_SCRIPT = SCRIPT + ["Which cluster fits me?", "We make aircraft parts", "an SME", "partners for research",
                        "en français svp", "c'est quoi MecaTech ?", "in English please", "start over"] + SCRIPT


@pytest.fixture(scope="module")
def actions(tmp_path_factory):
    ensure_model()
    servers = Servers(tmp_path_factory.mktemp("cost-actions"))
    try:
        servers.start_actions()
        yield f"http://127.0.0.1:{servers.actions_port}/webhook"
    finally:
        servers.stop()


class Work:
    """Counts, per message, the events deserialised and sent to actions and the states featurised."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.current: Dict[str, int] = defaultdict(int)
        self.per_message: List[Dict[str, int]] = []
        from_parameters, call_format = Event.from_parameters, RemoteAction._action_call_format
        past_states = DialogueStateTracker.past_states

        def counted_from_parameters(parameters, *args, **kwargs):
            self.current["deserialised"] += 1
            return from_parameters(parameters, *args, **kwargs)

        def counted_call_format(action, tracker, domain):
            body = call_format(action, tracker, domain)
            self.current["sent"] += len(body["tracker"]["events"])
            return body

        def counted_past_states(tracker, *args, **kwargs):
            states = past_states(tracker, *args, **kwargs)
            self.current["featurised"] += len(states)
            return states

        monkeypatch.setattr(Event, "from_parameters", staticmethod(counted_from_parameters))
        monkeypatch.setattr(RemoteAction, "_action_call_format", counted_call_format)
        monkeypatch.setattr(DialogueStateTracker, "past_states", counted_past_states)

    def next_message(self) -> None:
        self.per_message.append(dict(self.current))
        self.current.clear()

    def most(self, kind: str, first: int, last: int) -> int:
        """The highest count of `kind` over messages first..last (1-based)."""
        return max(m.get(kind, 0) for m in self.per_message[first - 1:last])


def endpoints(path: Path, actions_url: str, tracker_store: str) -> AvailableEndpoints:
    """The agents run in this process: the action server's token is written out, not substituted."""
    path.write_text(f"action_endpoint:\n  url: {actions_url}\n"
                    f"  headers:\n    Authorization: Bearer {ACTION_SERVER_TOKEN}\n"
                    f"tracker_store:\n  {tracker_store}\n")
    return AvailableEndpoints.read_endpoints(str(path))


def sqlite_store(store_type: str, database: Path, max_turns: Optional[int] = None) -> str:
    return (f"type: {store_type}\n  dialect: sqlite\n  db: {database}"
            + (f"\n  max_turns: {max_turns}" if max_turns else ""))


def converse(loop, agents, sender: str, messages: List[str], work: Optional[Work] = None) -> List[List[str]]:
    """Sends the messages in turn to the agents (one after the other); the replies' texts."""
    replies = []
    for number, text in enumerate(messages):
        agent = agents[number % len(agents)]
        answer = loop.run_until_complete(agent.handle_message(UserMessage(text, sender_id=sender)))
        replies.append([r.get("text", "") for r in answer or []])
        if work:
            work.next_message()
    return replies


def load(loop, available: AvailableEndpoints):
    agent = loop.run_until_complete(load_agent(model_path=str(ensure_model()), endpoints=available))
    assert agent.is_ready()
    return agent


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_sqlite_work_per_message_stays_constant_and_grows_with_rasas_store(actions, loop, tmp_path, monkeypatch):
    bounded = load(loop, endpoints(tmp_path / "b.yml", actions, sqlite_store(BOUNDED, tmp_path / "b.db")))
    stock = load(loop, endpoints(tmp_path / "s.yml", actions, sqlite_store("SQL", tmp_path / "s.db")))
    work = Work(monkeypatch)
    messages = SCRIPT * 8
    bounded_replies = converse(loop, [bounded], f"cost-{uuid.uuid4().hex[:8]}", messages, work)
    stock_work = Work(monkeypatch)
    stock_replies = converse(loop, [stock], f"cost-{uuid.uuid4().hex[:8]}", messages, stock_work)

    assert bounded_replies == stock_replies
    for kind in ("deserialised", "sent", "featurised"):
        assert work.most(kind, 61, 80) <= work.most(kind, 11, 30), (kind, work.per_message)
        assert stock_work.most(kind, 61, 80) > 1.5 * stock_work.most(kind, 11, 30), (kind, stock_work.per_message)


def test_postgresql_two_instances_read_only_the_other_ones_events(actions, loop, tmp_path, monkeypatch):
    with PostgresServer() as pg, RedisServer() as red:
        store = (f"type: {BOUNDED}\n  dialect: postgresql\n  url: 127.0.0.1\n  port: {pg.port}\n  db: {pg.database}\n"
                 f"  username: {pg.user}\n  password: {pg.password}\n"
                 f"lock_store:\n  type: stores.redis_lock_store.AtomicRedisLockStore\n  url: 127.0.0.1\n"
                 f"  port: {red.port}\n  password: {red.password}\n  db: 1")
        available = endpoints(tmp_path / "pg.yml", actions, store)
        instances = [load(loop, available), load(loop, available)]
        work = Work(monkeypatch)
        sender = f"cost-pg-{uuid.uuid4().hex[:8]}"
        replies = converse(loop, instances, sender, SCRIPT * 8, work)
        with pg.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM events WHERE sender_id = %s", (sender,))
            stored = cursor.fetchone()[0]
        connection.close()
    assert all(replies), "a message went unanswered"
    # Each instance reads back what the other saved of the previous message, and nothing more.
    for kind in ("deserialised", "sent", "featurised"):
        assert work.most(kind, 61, 80) <= work.most(kind, 11, 30), (kind, work.per_message)
    assert stored > 600  # every event is kept in the database


def test_a_long_conversation_gets_the_answers_of_rasas_store(actions, loop, tmp_path):
    """The tracker cut every 2 turns (`max_turns: 2`), a form and a language switch in between."""
    bounded = load(loop, endpoints(tmp_path / "b.yml", actions, sqlite_store(BOUNDED, tmp_path / "b.db", 2)))
    stock = load(loop, endpoints(tmp_path / "s.yml", actions, sqlite_store("SQL", tmp_path / "s.db")))
    messages = LONG_SCRIPT * 2
    assert converse(loop, [bounded], "long", messages) == converse(loop, [stock], "long", messages)


# --- the store's checks against the database, without a model -----------------------------------

def test_the_store_reads_only_what_changed_and_again_after_a_deletion_or_an_unsaved_change(loop, tmp_path,
                                                                                       monkeypatch):
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    from stores.bounded_tracker_store import BoundedSQLTrackerStore

    domain = Domain.load("domain.yml")
    database = str(tmp_path / "store.db")
    store, other_instance = (BoundedSQLTrackerStore(domain=domain, dialect="sqlite", db=database) for _ in range(2))
    rasas = SQLTrackerStore(domain=domain, dialect="sqlite", db=database)
    run = loop.run_until_complete
    deserialised = []
    from_parameters = Event.from_parameters
    monkeypatch.setattr(Event, "from_parameters",
                        staticmethod(lambda data, *a, **k: deserialised.append(data) or from_parameters(data, *a, **k)))

    def turn(tracker, text):
        for event in (UserUttered(text), ActionExecuted("utter_greet"), BotUttered(f"re: {text}"),
                      ActionExecuted("action_listen")):
            tracker.update(event)

    tracker = run(store.get_or_create_tracker("someone"))
    turn(tracker, "hello")
    run(store.save(tracker))
    deserialised.clear()
    assert run(store.retrieve("someone")) is tracker and deserialised == []  # from memory, checked by ids

    elsewhere = run(other_instance.retrieve("someone"))
    turn(elsewhere, "from the other instance")
    run(other_instance.save(elsewhere))
    deserialised.clear()
    tracker = run(store.retrieve("someone"))
    assert [d["event"] for d in deserialised] == ["user", "action", "bot", "action"]  # the 4 new events only
    assert [e.as_dict() for e in tracker.events][-4:] == [e.as_dict() for e in list(elsewhere.events)[-4:]]

    tracker.update(UserUttered("never saved"))  # an error during the message: no save
    again = run(store.retrieve("someone"))
    assert again is not tracker and "never saved" not in [getattr(e, "text", None) for e in again.events]
    assert [e.as_dict() for e in again.events] == [e.as_dict() for e in run(rasas.retrieve("someone")).events]

    with store.engine.begin() as connection:  # "forget me": the conversation's first events deleted
        first = connection.execute(sa.text("SELECT min(id) FROM events WHERE sender_id = 'someone'")).scalar()
        connection.execute(sa.text("DELETE FROM events WHERE id <= :first"), {"first": first + 3})
    after_deletion = run(store.retrieve("someone"))
    assert [e.as_dict() for e in after_deletion.events] == [e.as_dict() for e in run(rasas.retrieve("someone")).events]
    with store.engine.begin() as connection:  # the purge: all of it
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = 'someone'"))
    assert run(store.retrieve("someone")) is None


def test_a_turn_that_ran_forget_me_leaves_nothing_in_the_database_nor_in_memory(loop, tmp_path):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    from stores.bounded_tracker_store import BoundedSQLTrackerStore
    from stores.sql_tracker_store import FORGET_ACTION

    store = BoundedSQLTrackerStore(domain=Domain.load("domain.yml"), dialect="sqlite", db=str(tmp_path / "store.db"))
    run = loop.run_until_complete
    tracker = run(store.get_or_create_tracker("someone"))
    for event in (UserUttered("my email is someone@example.org"), ActionExecuted("utter_greet"),
                  BotUttered("hello"), ActionExecuted("action_listen")):
        tracker.update(event)
    run(store.save(tracker))
    tracker = run(store.retrieve("someone"))
    assert "someone" in store._entries  # kept in memory, as any conversation

    for event in (UserUttered("forget me"), ActionExecuted(FORGET_ACTION), ActionExecuted("action_listen")):
        tracker.update(event)
    run(store.save(tracker))
    assert "someone" not in store._entries  # the cached tracker held what the user asked to forget
    assert store._id_range("someone") == (None, None)
    assert run(store.retrieve("someone")) is None
