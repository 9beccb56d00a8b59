"""runtime/: the action server's responses are validated as Rasa validates them, with the schema
compiled once; event classes are found as Rasa finds them, through a cache; `python -m runtime`
is Rasa's command line with both."""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from runtime import action_validation, event_types
from tests.hardening import ticks_during
from tests.servers import ROOT, environment

VALID = [
    {},
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "language", "value": "fr", "timestamp": None}],
     "responses": [{"text": "Bonjour", "buttons": [{"title": "Skywin", "payload": "/ask"}]}]},
    {"events": [{"event": "active_loop", "name": "recommendation_form"},
                {"event": "slot", "name": "requested_slot", "value": None},
                {"event": "followup", "name": "action_listen"},
                {"event": "bot", "text": "hi", "data": {}, "metadata": {}}],
     "responses": [{"response": "utter_rephrase"}]},
]
INVALID = [
    {"events": "slot"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "value": "fr"}]},  # a slot event without its name
    {"responses": {"text": "not a list"}},
    {"events": [{"name": "language"}]},  # no event type
]


@pytest.fixture
def remote_action():
    return RemoteAction("action_answer_cluster", EndpointConfig("http://127.0.0.1:1/webhook"))


@pytest.mark.parametrize("response", VALID)
def test_valid_responses_pass_as_with_rasa(remote_action, response):
    assert action_validation.RASA_VALIDATE(remote_action, response) is True
    assert action_validation.validate_action_result(remote_action, response) is True


@pytest.mark.parametrize("response", INVALID)
def test_invalid_responses_fail_with_rasas_error(remote_action, response):
    with pytest.raises(ValidationError) as by_rasa:
        action_validation.RASA_VALIDATE(remote_action, response)
    with pytest.raises(ValidationError) as compiled_once:
        action_validation.validate_action_result(remote_action, response)
    assert compiled_once.value.message == by_rasa.value.message
    assert "Failed to validate Action server response" in compiled_once.value.message


def test_the_schema_is_checked_once_not_per_response(remote_action, monkeypatch):
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    checks = []
    monkeypatch.setattr(validator_class, "check_schema",
                        classmethod(lambda cls, s, *a, **k: checks.append(s)))
    action_validation.response_validator.cache_clear()
    for response in (VALID + INVALID) * 5:
        try:
            action_validation.validate_action_result(remote_action, response)
        except ValidationError:
            pass
    assert checks == [schema]
    action_validation.response_validator.cache_clear()


# Every event type's own form, as Rasa writes it, for the shortcut of `passes`.
EVENT_NAMES = sorted({event_type["properties"]["event"]["const"] for event_type in
                      RemoteAction.action_response_format_spec()["properties"]["events"]["items"]["oneOf"]})
FIELD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
                         st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
EVENTS = st.fixed_dictionaries({"event": st.one_of(st.sampled_from(EVENT_NAMES), st.text(max_size=5))}, optional={
    name: FIELD_VALUES for name in ("name", "value", "text", "timestamp", "policy", "confidence", "parse_data",
                                    "data", "metadata", "entities", "date_time", "kill_on_user_msg", "intent")})


@pytest.mark.parametrize("response", VALID + INVALID)
def test_the_event_type_shortcut_agrees_with_the_whole_schema(response):
    assert action_validation.passes(response) is action_validation.response_validator().is_valid(response)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.fixed_dictionaries({}, optional={"events": st.lists(EVENTS, max_size=3),
                                           "responses": st.lists(st.dictionaries(st.sampled_from(["text", "buttons"]),
                                                                                 FIELD_VALUES), max_size=2)}))
def test_the_event_type_shortcut_agrees_with_the_whole_schema_on_any_response(response):
    assert action_validation.passes(response) is action_validation.response_validator().is_valid(response)


def test_install_replaces_rasas_method(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    action_validation.install()
    assert RemoteAction._validate_action_result is action_validation.validate_action_result


@pytest.mark.parametrize("event_class", sorted(all_subclasses(Event), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_each_event_type_resolves_to_rasas_class(event_class):
    name = event_class.type_name
    assert event_types.resolve_by_type(name) is event_types.RASA_RESOLVE_BY_TYPE(name)
    assert event_types.resolve_by_type(name) is event_types.RASA_RESOLVE_BY_TYPE(name)  # from the cache


def test_unknown_event_types_behave_as_in_rasa():
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        event_types.resolve_by_type("no_such_event")
    assert event_types.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert event_types.resolve_by_type("topic") is None
    assert "no_such_event" not in event_types._classes


def test_installed_lookup_rebuilds_events(monkeypatch):
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])  # the staticmethod
    event_types.install()
    events = [UserUttered("What is Skywin?", {"name": "ask_cluster_info", "confidence": 0.9}),
              SlotSet("language", "en")]
    assert [Event.from_parameters(event.as_dict()) for event in events] == events


def test_python_m_runtime_is_rasas_command_line():
    result = subprocess.run([sys.executable, "-m", "runtime", "--version"], cwd=ROOT, env=environment(),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Rasa Version" in result.stdout and "3.6.21" in result.stdout


class _DownStore:
    """A tracker store whose database does not answer."""

    domain = None
    event_broker = None

    async def retrieve(self, sender_id):
        raise ConnectionError("the database is down")

    retrieve_full_tracker = retrieve

    async def save(self, tracker):
        raise ConnectionError("the database is down")


def test_a_store_outage_fails_the_message_where_rasa_forgets_the_conversation(monkeypatch):
    import asyncio

    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    from runtime import store_outage
    from stores.probes import TrackerStoreDown

    tracker = DialogueStateTracker("someone", [])
    rasa_store = FailSafeTrackerStore(_DownStore(), on_tracker_store_error=lambda error: None)
    # Rasa's: no conversation (a new one starts), and the turn saved in memory that nothing reads
    assert asyncio.run(store_outage.RASA_RETRIEVE(rasa_store, "someone")) is None
    asyncio.run(store_outage.RASA_SAVE(rasa_store, tracker))
    assert asyncio.run(rasa_store.fallback_tracker_store.retrieve("someone")) is not None
    store_outage.install()
    try:
        store = FailSafeTrackerStore(_DownStore(), on_tracker_store_error=lambda error: None)
        for call in (store.retrieve("someone"), store.retrieve_full_tracker("someone"), store.save(tracker)):
            with pytest.raises(TrackerStoreDown):
                asyncio.run(call)
        assert store._fallback_tracker_store is None  # nothing kept aside
    finally:
        FailSafeTrackerStore.retrieve = store_outage.RASA_RETRIEVE
        FailSafeTrackerStore.save = store_outage.RASA_SAVE
        FailSafeTrackerStore.retrieve_full_tracker = store_outage.RASA_RETRIEVE_FULL


class _FrozenStore:
    """A tracker store whose driver call does not return until `thaw` is set (a frozen database:
    nothing refused, nothing answered), then does what `then` says."""

    domain = None
    event_broker = None

    def __init__(self, then=None) -> None:
        import threading

        self.thaw, self.done = threading.Event(), threading.Event()
        self.calls = 0
        self.then = then

    async def retrieve(self, sender_id):
        self.calls += 1
        try:
            self.thaw.wait(timeout=30)
            return await self.then(sender_id) if self.then else None
        finally:
            self.done.set()

    save = retrieve


def test_a_frozen_store_fails_the_message_in_bounded_time_where_rasa_stalls_the_loop(monkeypatch):
    import threading

    from rasa.core.tracker_store import FailSafeTrackerStore

    from runtime import store_outage
    from stores.probes import TrackerStoreDown

    # Rasa's: the call blocks the event loop (nothing else runs) until the database answers
    frozen = _FrozenStore()
    rasa_store = FailSafeTrackerStore(frozen, on_tracker_store_error=lambda error: None)
    threading.Timer(0.3, frozen.thaw.set).start()
    ticks, result = ticks_during(lambda: store_outage.RASA_RETRIEVE(rasa_store, "someone"))
    assert ticks == 0 and result is None

    monkeypatch.setattr(store_outage, "CALL_TIMEOUT", 0.3)
    store_outage.install()
    try:
        frozen = _FrozenStore()
        store = FailSafeTrackerStore(frozen, on_tracker_store_error=lambda error: None)
        ticks, result = ticks_during(lambda: store.retrieve("someone"))
        assert ticks > 0 and isinstance(result, TrackerStoreDown)  # the loop ran on meanwhile
        # while frozen, the next calls fail at once without reaching the store ...
        ticks, result = ticks_during(lambda: store.retrieve("someone"))
        assert isinstance(result, TrackerStoreDown) and frozen.calls == 1
        # ... until it is tried again, and answers
        frozen.thaw.set()
        store._frozen.retry_at = 0
        ticks, result = ticks_during(lambda: store.retrieve("someone"))
        assert result is None and frozen.calls == 2 and store._frozen.since is None
    finally:
        FailSafeTrackerStore.retrieve = store_outage.RASA_RETRIEVE
        FailSafeTrackerStore.save = store_outage.RASA_SAVE
        FailSafeTrackerStore.retrieve_full_tracker = store_outage.RASA_RETRIEVE_FULL


def test_a_save_given_up_on_is_not_committed_when_the_database_resumes(monkeypatch, tmp_path):
    import asyncio
    import sqlite3
    import threading

    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    from runtime import store_outage
    from stores.probes import TrackerStoreDown
    from stores.sql_tracker_store import CheckedSQLTrackerStore

    database = tmp_path / "store.db"
    sql = CheckedSQLTrackerStore(dialect="sqlite", db=str(database))

    def tracker(sender):
        return DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen")])

    def stored(sender) -> int:
        with sqlite3.connect(database) as connection:
            return connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0]

    # Rasa's: the save waits for the database, however long, and is committed
    frozen = _FrozenStore(then=lambda _: sql.save(tracker("rasa")))
    threading.Timer(0.3, frozen.thaw.set).start()
    asyncio.run(store_outage.RASA_SAVE(FailSafeTrackerStore(frozen), tracker("rasa")))
    assert stored("rasa") == 1

    monkeypatch.setattr(store_outage, "CALL_TIMEOUT", 0.3)
    monkeypatch.setattr(store_outage, "COMMIT_WITHIN", 0.2)
    store_outage.install()
    try:
        frozen = _FrozenStore(then=lambda _: sql.save(tracker("ours")))
        with pytest.raises(TrackerStoreDown):  # the user is asked to retry ...
            asyncio.run(FailSafeTrackerStore(frozen).save(tracker("ours")))
        frozen.thaw.set()  # ... and the database resumes: the save goes on, to its commit, refused
        assert frozen.done.wait(timeout=30)
        assert stored("ours") == 0
        # a save in time is committed
        asyncio.run(FailSafeTrackerStore(sql).save(tracker("in time")))
        assert stored("in time") == 1
    finally:
        FailSafeTrackerStore.retrieve = store_outage.RASA_RETRIEVE
        FailSafeTrackerStore.save = store_outage.RASA_SAVE
        FailSafeTrackerStore.retrieve_full_tracker = store_outage.RASA_RETRIEVE_FULL


def test_a_save_that_fails_after_its_commit_counts_as_saved(tmp_path):
    """The database stopping between a save's commit and the store's next query (seen in a
    PostgreSQL restart under load): the turn is stored, so the message is not refused."""
    import asyncio
    import sqlite3

    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    from runtime import store_outage
    from stores.sql_tracker_store import CheckedSQLTrackerStore

    class FailingAfterCommit(CheckedSQLTrackerStore):
        async def save(self, tracker):
            await super().save(tracker)
            raise ConnectionError("the database stopped")

    database = tmp_path / "store.db"
    store = FailingAfterCommit(dialect="sqlite", db=str(database))

    def tracker(sender):
        return DialogueStateTracker.from_events(sender, [ActionExecuted("action_listen")])

    # Rasa's: the error is taken for a failed save, and the turn kept in memory besides
    rasa_store = FailSafeTrackerStore(store, on_tracker_store_error=lambda error: None)
    asyncio.run(store_outage.RASA_SAVE(rasa_store, tracker("rasa")))
    assert rasa_store._fallback_tracker_store is not None
    store_outage.install()
    try:
        asyncio.run(FailSafeTrackerStore(store).save(tracker("ours")))  # no TrackerStoreDown: stored
    finally:
        FailSafeTrackerStore.retrieve = store_outage.RASA_RETRIEVE
        FailSafeTrackerStore.save = store_outage.RASA_SAVE
        FailSafeTrackerStore.retrieve_full_tracker = store_outage.RASA_RETRIEVE_FULL
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM events WHERE sender_id = 'ours'").fetchone()[0] == 1


def test_a_local_tracker_store_is_called_on_the_event_loop(tmp_path):
    """An SQLite file cannot freeze: its calls stay on the loop's thread (a thread per call cost a
    fifth of the throughput), while a store reached over the network is called from the pool."""
    import asyncio
    import threading

    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.shared.core.events import ActionExecuted
    from rasa.shared.core.trackers import DialogueStateTracker

    from runtime import store_outage
    from stores.sql_tracker_store import CheckedSQLTrackerStore

    threads = []

    class Recording(CheckedSQLTrackerStore):
        async def save(self, tracker):
            threads.append(threading.current_thread())
            await super().save(tracker)

    store = Recording(dialect="sqlite", db=str(tmp_path / "store.db"))
    store_outage.install()
    try:
        asyncio.run(FailSafeTrackerStore(store).save(
            DialogueStateTracker.from_events("local", [ActionExecuted("action_listen")])))
    finally:
        FailSafeTrackerStore.retrieve = store_outage.RASA_RETRIEVE
        FailSafeTrackerStore.save = store_outage.RASA_SAVE
        FailSafeTrackerStore.retrieve_full_tracker = store_outage.RASA_RETRIEVE_FULL
    assert threads == [threading.main_thread()]
