""""Forget me" (asked first, done on a yes only) and `make unanswered`, end to end: real
conversations through the guarded channels,
the action server deleting from the same SQLite tracker store (CONVERSATIONS_DB), and the script
reading it."""

import asyncio
import json
import subprocess
import sys
import uuid

import pytest

from tests.hardening import GuardedServers, SocketChat, shared_servers, texts_of, wait_for
from tests.servers import ROOT, button_titles, ensure_model, environment, texts


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    return shared_servers(request, tmp_path_factory)


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stored_texts(servers, sender):
    return [e.get("text") for e in servers.rows(sender) if e["type"] in ("user", "bot")]


ASKED_EN = "Delete this conversation and everything you told me in it? This cannot be undone. Yes / no"
ASKED_FR = "Supprimer cette conversation et tout ce que vous m'y avez dit ? C'est définitif. Oui / non"
DONE_EN = "Done: I have deleted this conversation and everything you told me in it. We start afresh."
DONE_FR = "C'est fait : j'ai supprimé cette conversation et tout ce que vous m'y avez dit. On repart de zéro."
KEPT_EN = "OK, I have deleted nothing: the conversation is kept."
KEPT_FR = "D'accord, je n'ai rien supprimé : la conversation est conservée."


def test_forget_me_asks_first_then_deletes_the_conversation_on_yes(servers):
    user = new_user("forget-en")
    assert "Skywin is the Aerospace" in texts(servers.say(user, "tell me about Skywin"))
    servers.say(user, "which cluster fits me?")
    servers.say(user, "my company Acme Drones builds drones in Namur")
    assert "Acme Drones" in " ".join(t or "" for t in stored_texts(servers, user))

    asked = servers.say(user, "forget me")
    assert texts(asked) == ASKED_EN and button_titles(asked) == ["Yes, delete it", "No, keep it"]
    assert "Acme Drones" in " ".join(t or "" for t in stored_texts(servers, user))  # nothing deleted yet

    assert texts(servers.say(user, "yes")) == DONE_EN
    assert wait_for(lambda: servers.rows(user) == [], timeout=10), servers.rows(user)
    # a new conversation: no cluster talked about, no guided dialogue pending
    assert "Which cluster do you mean?" in texts(servers.say(user, "what are its axes?"))
    kept = " ".join(t or "" for t in stored_texts(servers, user))
    assert "Acme Drones" not in kept and "Skywin" not in kept and "forget me" not in kept


@pytest.mark.parametrize("answer", ["no", "/deny", "what is BioWin?"])
def test_forget_me_keeps_everything_on_any_other_answer_and_says_so(servers, answer):
    user = new_user("forget-no")
    assert "Skywin is the Aerospace" in texts(servers.say(user, "tell me about Skywin"))
    assert texts(servers.say(user, "delete my data")) == ASKED_EN
    stored = len(servers.rows(user))
    assert texts(servers.say(user, answer)) == KEPT_EN
    assert not wait_for(lambda: len(servers.rows(user)) < stored, timeout=2)  # nothing deleted
    assert "tell me about Skywin" in stored_texts(servers, user)
    assert "skywin.be" in texts(servers.say(user, "and its website?"))  # the conversation goes on
    assert texts(servers.say(user, "yes")) != DONE_EN  # a later yes answers nothing: asked again first
    assert "tell me about Skywin" in stored_texts(servers, user)


def test_the_yes_button_deletes_the_conversation(servers):
    user = new_user("forget-button")
    servers.say(user, "what is BioWin?")
    asked = servers.say(user, "please delete my data")
    yes = next(b["payload"] for r in asked for b in r.get("buttons", []) if b["title"] == "Yes, delete it")
    assert texts(servers.say(user, yes)) == DONE_EN
    assert wait_for(lambda: servers.rows(user) == [], timeout=10), servers.rows(user)


@pytest.mark.parametrize("request_text", ["supprime mes données", "oublie-moi"])
def test_forget_me_in_french_during_the_guided_dialogue_deletes_on_oui(servers, request_text):
    user = new_user("forget-fr")
    assert "Que fait votre organisation" in texts(servers.say(user, "quel cluster me convient ?"))
    asked = servers.say(user, request_text)
    assert texts(asked) == ASKED_FR and button_titles(asked) == ["Oui, supprimer", "Non, garder"]
    assert servers.rows(user)
    assert texts(servers.say(user, "oui")) == DONE_FR
    assert wait_for(lambda: servers.rows(user) == [], timeout=10), servers.rows(user)
    # the guided dialogue is over: a question gets its answer, not "what does your organisation do?"
    assert "Skywin est le pôle" in texts(servers.say(user, "c'est quoi Skywin ?"))


def test_forget_me_in_french_declined_resumes_the_guided_dialogue(servers):
    user = new_user("forget-fr-non")
    assert "Que fait votre organisation" in texts(servers.say(user, "quel cluster me convient ?"))
    servers.say(user, "nous concevons des pièces composites pour l'aéronautique")
    assert texts(servers.say(user, "oubliez-moi")) == ASKED_FR
    answer = texts(servers.say(user, "non"))
    assert answer.startswith(KEPT_FR)
    assert "type d'organisation" in answer or "Quel type" in answer, answer  # the question it was at
    assert "pièces composites" in " ".join(t or "" for t in stored_texts(servers, user))


def test_forget_me_over_socketio_keeps_nothing_of_earlier_sessions(servers):
    async def scenario():
        async with SocketChat(servers.url) as chat:
            await chat.ask("what is BioWin?")
            asked = texts_of(await chat.ask("please delete my data"))
            answer = await chat.ask("yes")
            return chat.session_id, asked, answer

    session, asked, answer = asyncio.run(scenario())
    assert asked == ASKED_EN
    assert texts_of(answer).startswith(DONE_EN)
    assert {"conversation_forgotten": True} in answer  # for the chat page (web/app.js)
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
        assert texts(servers.say(user, "forget me")) == ASKED_EN
        assert texts(servers.say(user, "yes")) == DONE_EN
        assert servers.rows(user) == []  # at once: the turn's save is the deletion
        assert "Which cluster do you mean?" in texts(servers.say(user, "what are its axes?"))
        assert "Acme Drones" not in json.dumps(servers.rows(user))
        assert not (tmp_path / "elsewhere.db").exists()
    finally:
        servers.stop()
