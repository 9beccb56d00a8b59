""""Forget me" and `make unanswered`, end to end: real conversations through the guarded channels,
the action server deleting from the same SQLite tracker store (CONVERSATIONS_DB), and the script
reading it."""

import asyncio
import json
import subprocess
import sys
import uuid

import pytest

from tests.hardening import GuardedServers, SocketChat, shared_servers, texts_of, wait_for
from tests.servers import ROOT, ensure_model, environment, texts


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    return shared_servers(request, tmp_path_factory)


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stored_texts(servers, sender):
    return [e.get("text") for e in servers.rows(sender) if e["type"] in ("user", "bot")]


def test_forget_me_deletes_the_conversation_and_starts_afresh(servers):
    user = new_user("forget-en")
    assert "Skywin is the Aerospace" in texts(servers.say(user, "tell me about Skywin"))
    servers.say(user, "which cluster fits me?")
    servers.say(user, "my company Acme Drones builds drones in Namur")
    assert "Acme Drones" in " ".join(t or "" for t in stored_texts(servers, user))

    answer = texts(servers.say(user, "forget me"))
    assert answer == "Done: I have deleted this conversation and everything you told me in it. We start afresh."
    assert wait_for(lambda: servers.rows(user) == [], timeout=10), servers.rows(user)

    # a new conversation: no cluster talked about, no guided dialogue pending
    assert "Which cluster do you mean?" in texts(servers.say(user, "what are its axes?"))
    kept = " ".join(t or "" for t in stored_texts(servers, user))
    assert "Acme Drones" not in kept and "Skywin" not in kept and "forget me" not in kept


@pytest.mark.parametrize("request_text", ["supprime mes données", "oublie-moi"])
def test_forget_me_in_french_even_during_the_guided_dialogue(servers, request_text):
    user = new_user("forget-fr")
    assert "Que fait votre organisation" in texts(servers.say(user, "quel cluster me convient ?"))
    answer = texts(servers.say(user, request_text))
    assert answer == "C'est fait : j'ai supprimé cette conversation et tout ce que vous m'y avez dit. On repart de zéro."
    assert wait_for(lambda: servers.rows(user) == [], timeout=10), servers.rows(user)
    # the guided dialogue is over: a question gets its answer, not "what does your organisation do?"
    assert "Skywin est le pôle" in texts(servers.say(user, "c'est quoi Skywin ?"))


def test_forget_me_over_socketio_keeps_nothing_of_earlier_sessions(servers):
    async def scenario():
        async with SocketChat(servers.url) as chat:
            await chat.ask("what is BioWin?")
            answer = texts_of(await chat.ask("please delete my data"))
            return chat.session_id, answer

    session, answer = asyncio.run(scenario())
    assert answer.startswith("Done: I have deleted this conversation")
    assert wait_for(lambda: servers.rows(session) == [], timeout=10), servers.rows(session)


def test_unanswered_lists_what_ended_in_fallback_or_out_of_scope(servers):
    asked = {
        "what's the weather in Liège tomorrow?": 3,
        "tell me a joke": 2,
        "book me a flight to Rome": 1,
    }
    spellings = {"what's the weather in Liège tomorrow?": ["What's the weather in Liège tomorrow?",
                                                           "what's the weather in liège tomorrow",
                                                           "WHAT'S THE WEATHER IN LIÈGE TOMORROW ?!"],
                 "tell me a joke": ["tell me a joke", "Tell me a joke!"],
                 "book me a flight to Rome": ["book me a flight to Rome"]}
    for question, variants in spellings.items():
        for variant in variants:
            user = new_user("unanswered")
            servers.say(user, "what is Skywin?")  # answered: not listed
            assert "only answer questions" in texts(servers.say(user, variant))
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "unanswered.py"), "--json", "--limit", "0"],
                            capture_output=True, text=True, env=environment(CONVERSATIONS_DB=str(servers.sqlite_path)),
                            timeout=60)
    assert result.returncode == 0, result.stderr
    listed = {q["text"].casefold().rstrip(" ?!"): q for q in json.loads(result.stdout)}
    for question, count in asked.items():
        entry = listed[question.casefold().rstrip(" ?!")]
        assert entry["count"] >= count and entry["conversations"] >= count
    counts = [q["count"] for q in json.loads(result.stdout)]
    assert counts == sorted(counts, reverse=True)
    assert "what is skywin" not in listed  # answered


def test_forget_me_is_done_by_the_tracker_store_not_the_action_server(tmp_path):
    """The action server here cannot reach the conversations (CONVERSATIONS_DB names another file):
    the deletion is the tracker store's, in the turn that ran "forget me" (stores/sql_tracker_store.py)."""
    ensure_model()
    servers = GuardedServers(tmp_path, extra_env={"CONVERSATIONS_DB": str(tmp_path / "elsewhere.db")})
    try:
        servers.start()
        user = new_user("forget-store")
        servers.say(user, "which cluster fits me?")
        servers.say(user, "my company Acme Drones builds drones in Namur")
        assert servers.rows(user)
        assert texts(servers.say(user, "forget me")).startswith("Done: I have deleted this conversation")
        assert servers.rows(user) == []  # at once: the turn's save is the deletion
        assert "Which cluster do you mean?" in texts(servers.say(user, "what are its axes?"))
        assert "Acme Drones" not in json.dumps(servers.rows(user))
        assert not (tmp_path / "elsewhere.db").exists()
    finally:
        servers.stop()
