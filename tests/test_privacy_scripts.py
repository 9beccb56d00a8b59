"""`make purge-conversations` (scripts/purge_conversations.py) and `make unanswered`
(scripts/unanswered.py) on a SQLite tracker store written here, in Rasa's own table layout; the
same scripts on conversations held through the real servers: tests/test_e2e_privacy.py."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import pytest
import sqlalchemy as sa

from actions import tracker_db
from tests.servers import ROOT, environment

DAY = 86400.0
NOW = time.time()


class Conversations:
    """Writes events as Rasa's SQLTrackerStore does (one row per event, the event as JSON)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = tracker_db.engine_for(str(path))
        tracker_db.METADATA.create_all(self.engine)
        self.clock = {}

    def add(self, sender: str, type_name: str, at: float, text: Optional[str] = None, intent: Optional[str] = None,
            action: Optional[str] = None, **data) -> None:
        at = max(at, self.clock.get(sender, 0) + 0.001)  # strictly increasing, as in a real conversation
        self.clock[sender] = at
        event = {"event": type_name, "timestamp": at, **data}
        if type_name == "user":
            event.update(text=text, parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": [], "text": text})
        if type_name == "action":
            event["name"] = action
        with self.engine.begin() as connection:
            connection.execute(sa.insert(tracker_db.EVENTS).values(
                sender_id=sender, type_name=type_name, timestamp=at, intent_name=intent, action_name=action,
                data=json.dumps(event)))

    def session(self, sender: str, at: float, turns: List[tuple]) -> None:
        """A session: its start, then (text, intent, bot action) turns a second apart."""
        self.add(sender, "action", at, action="action_session_start")
        self.add(sender, "session_started", at)
        self.add(sender, "action", at, action="action_listen")
        for i, (text, intent, action) in enumerate(turns, 1):
            self.add(sender, "user", at + i, text=text, intent=intent)
            self.add(sender, "action", at + i, action=action)
            self.add(sender, "bot", at + i, text="…")
            self.add(sender, "action", at + i, action="action_listen")

    def texts(self, sender: str) -> List[str]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(tracker_db.EVENTS.c.data).where(tracker_db.EVENTS.c.sender_id == sender)
                                      .order_by(tracker_db.EVENTS.c.id)).scalars().all()
        return [json.loads(r).get("text") for r in rows if json.loads(r)["event"] == "user"]

    def senders(self) -> set:
        with self.engine.connect() as connection:
            return set(connection.execute(sa.select(tracker_db.EVENTS.c.sender_id).distinct()).scalars().all())


def run_script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True,
                          env=environment(**env), timeout=60)


# --- purge ---------------------------------------------------------------------------------------


@pytest.fixture
def old_and_new(tmp_path):
    db = Conversations(tmp_path / "conversations.db")
    db.session("old", NOW - 200 * DAY, [("what is skywin", "ask_cluster_info", "action_answer_cluster")])
    db.session("old", NOW - 120 * DAY, [("and biowin?", "ask_cluster_info", "action_answer_cluster")])
    db.session("returning", NOW - 100 * DAY, [("we make drones", "describe_activity", "recommendation_form")])
    db.session("returning", NOW - 1 * DAY, [("what is mecatech", "ask_cluster_info", "action_answer_cluster")])
    db.session("recent", NOW - 10 * DAY, [("list the clusters", "list_clusters", "action_list_clusters")])
    # a long-lived session that began before the cut-off and is still in use: kept whole
    db.session("long-session", NOW - 95 * DAY, [("hello", "greet", "utter_greet")])
    db.add("long-session", "user", NOW - 1 * DAY, text="still there?", intent="greet")
    # "forget me" whose clean-up was interrupted: everything up to the next user message goes
    db.session("forgotten", NOW - 3 * DAY, [("my company makes vaccines", "describe_activity", "recommendation_form"),
                                             ("delete my data", "forget_me", "action_forget_me")])
    db.add("forgotten", "restart", NOW - 3 * DAY + 10)
    db.session("forgotten", NOW - 1 * DAY, [("hello again", "greet", "utter_greet")])
    return db


def test_purge_deletes_what_is_older_than_the_retention_and_keeps_what_rasa_reads(old_and_new):
    db = old_and_new
    result = run_script("purge_conversations.py", "--db", str(db.path))
    assert result.returncode == 0, result.stderr
    assert "1 conversations entirely" in result.stdout
    assert db.senders() == {"returning", "recent", "long-session", "forgotten"}
    assert db.texts("returning") == ["what is mecatech"]  # the session of 100 days ago is gone
    assert db.texts("recent") == ["list the clusters"]
    assert db.texts("long-session") == ["hello", "still there?"]
    assert db.texts("forgotten") == ["hello again"]


def test_rasa_reads_the_same_conversations_after_the_purge(old_and_new):
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    store = SQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), dialect="sqlite", db=str(old_and_new.path))
    before = {s: [e.as_dict() for e in asyncio_run(store.retrieve(s)).events] for s in ("returning", "recent", "long-session")}
    assert run_script("purge_conversations.py", "--db", str(old_and_new.path)).returncode == 0
    after = {s: [e.as_dict() for e in asyncio_run(store.retrieve(s)).events] for s in ("returning", "recent", "long-session")}
    assert after == before


def asyncio_run(coroutine):
    import asyncio

    return asyncio.run(coroutine)


def test_the_retention_comes_from_the_environment_and_a_dry_run_deletes_nothing(old_and_new):
    db = old_and_new
    result = run_script("purge_conversations.py", "--db", str(db.path), "--dry-run", CONVERSATION_RETENTION_DAYS="150")
    assert result.returncode == 0 and result.stdout.startswith("Would delete")
    assert "older than 150 days" in result.stdout
    assert "old" in db.senders() and db.texts("forgotten")[0] == "my company makes vaccines"
    assert run_script("purge_conversations.py", "--db", str(db.path), CONVERSATION_RETENTION_DAYS="150").returncode == 0
    assert db.texts("old") == ["and biowin?"]  # 200 days: deleted; 120 days: kept
    assert db.texts("returning") == ["we make drones", "what is mecatech"]


def test_the_database_comes_from_conversations_db(old_and_new, tmp_path):
    result = run_script("purge_conversations.py", CONVERSATIONS_DB=str(old_and_new.path))
    assert result.returncode == 0 and "old" not in old_and_new.senders()
    empty = run_script("purge_conversations.py", "--db", str(tmp_path / "none.db"))
    assert empty.returncode == 0 and "No conversations stored yet" in empty.stdout
    assert not (tmp_path / "none.db").exists()  # not created by looking
    nothing = run_script("unanswered.py", "--db", str(tmp_path / "none.db"))
    assert nothing.returncode == 0 and nothing.stdout.strip() == "No unanswered questions."
    bad = run_script("purge_conversations.py", "--days", "-3", "--db", str(old_and_new.path))
    assert bad.returncode == 2


# --- unanswered --------------------------------------------------------------------------------


def test_unanswered_questions_grouped_and_counted_most_frequent_first(tmp_path):
    db = Conversations(tmp_path / "conversations.db")
    db.session("a", NOW - 5 * DAY, [
        ("What's the weather in Liège?", "out_of_scope", "utter_out_of_scope"),
        ("asdf qwerty", "nlu_fallback", "utter_rephrase"),
        ("what is skywin", "ask_cluster_info", "action_answer_cluster"),
        ("/list_clusters", "nlu_fallback", "utter_rephrase"),  # a button payload: not a question
    ])
    db.session("b", NOW - 2 * DAY, [
        ("what's the weather in liège", "out_of_scope", "utter_out_of_scope"),
        ("who won the match?", "greet", "action_core_fallback"),  # the dialogue policy's own fallback
        ("tell me a joke", "out_of_scope", "utter_out_of_scope"),
    ])
    db.session("c", NOW - 1 * DAY, [
        ("  WHAT'S THE WEATHER IN LIÈGE ?! ", "out_of_scope", "utter_out_of_scope"),
        ("tell me a joke!", "out_of_scope", "utter_out_of_scope"),
        ("\x1b[31mred\x1b[0m", "nlu_fallback", "utter_rephrase"),
    ])
    result = run_script("unanswered.py", "--db", str(db.path), "--json")
    assert result.returncode == 0, result.stderr
    found = [(q["text"], q["count"], q["conversations"]) for q in json.loads(result.stdout)]
    assert found[:2] == [("What's the weather in Liège?", 3, 3), ("tell me a joke", 2, 2)]
    assert {text for text, *_ in found[2:]} == {"asdf qwerty", "who won the match?", "\x1b[31mred\x1b[0m"}
    assert all(count == 1 for _, count, _ in found[2:])

    table = run_script("unanswered.py", "--db", str(db.path), "--limit", "2")
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["count", "convs", "last", "seen", "question"] and len(lines) == 3
    assert lines[1].split()[:2] == ["3", "3"] and lines[1].endswith("What's the weather in Liège?")
    recent = json.loads(run_script("unanswered.py", "--db", str(db.path), "--json", "--days", "1.5").stdout)
    assert {q["text"]: q["count"] for q in recent}["  WHAT'S THE WEATHER IN LIÈGE ?! ".strip()] == 1
    assert "\x1b" not in run_script("unanswered.py", "--db", str(db.path)).stdout  # no terminal escapes
