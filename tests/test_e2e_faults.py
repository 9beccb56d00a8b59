"""Faults, end to end with the real servers: the action server killed or frozen (the user is told
within seconds that the service is temporarily unavailable, in the conversation's language, and the
conversation goes on once it is back), and the knowledge edited under a running action server (a
fact edit changes the answer; a broken edit keeps the last good one)."""

import asyncio
import shutil
import signal
import time
import uuid

import pytest
import yaml

from kb.loader import DEFAULT_KNOWLEDGE_DIR
from tests.hardening import GuardedServers, SocketChat, texts_of, wait_for
from tests.servers import ensure_model, texts

UNAVAILABLE_EN = "Sorry, I can't answer right now: part of the service is temporarily unavailable."
UNAVAILABLE_FR = "Désolé, je ne peux pas répondre pour l'instant : une partie du service est temporairement indisponible."


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    ensure_model()
    workdir = tmp_path_factory.mktemp("faults")
    knowledge = workdir / "knowledge"
    shutil.copytree(DEFAULT_KNOWLEDGE_DIR, knowledge)
    servers = GuardedServers(workdir, extra_env={"KNOWLEDGE_DIR": str(knowledge)})  # ACTION_SERVER_TIMEOUT: default
    servers.knowledge_dir = knowledge
    try:
        yield servers.start()
    finally:
        servers.stop()


def timed(call, *args):
    start = time.monotonic()
    result = call(*args)
    return result, time.monotonic() - start


# --- the knowledge edited under the running action server ----------------------------------------


def test_a_fact_edit_changes_the_answer_and_a_broken_edit_keeps_the_last_good_one(servers):
    user = new_user("kb")
    question = "when was Skywin founded?"
    assert "Skywin was founded: 2006, from the merger of EWA and Wallonie Espace" in texts(servers.say(user, question))

    path = servers.knowledge_dir / "clusters" / "skywin.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["details"]["founded"]["value"]["en"] = "2006 (edited while the action server runs)"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    edited = wait_for(lambda: "2006 (edited while the action server runs)" in texts(servers.say(user, question)), timeout=15, every=0.5)
    assert edited, "the edit never reached the answers"

    good = path.read_text(encoding="utf-8")
    path.write_text("id: skywin\nname: [Skywin\n", encoding="utf-8")  # malformed YAML
    try:
        time.sleep(2.5)  # the store looks at the files at most every 2 s
        for _ in range(2):
            assert "2006 (edited while the action server runs)" in texts(servers.say(user, question))
        log = (servers.workdir / "actions.log").read_text(encoding="utf-8")
        assert "Knowledge edit refused" in log and "skywin.yml" in log and "malformed YAML" in log
    finally:
        path.write_text(good, encoding="utf-8")  # the action server is restarted by the next tests


# --- the action server down ------------------------------------------------------------------------


def test_action_server_killed_then_back(servers):
    french, newcomer = new_user("kill-fr"), new_user("kill-new")
    assert "Skywin est le pôle" in texts(servers.say(french, "c'est quoi Skywin ?"))
    servers.kill_actions()
    try:
        replies, elapsed = timed(servers.say, french, "et ses membres ?")
        assert texts(replies) == UNAVAILABLE_FR + " Réessayez dans un instant." and elapsed < 3
        # A newcomer's language is told by the Rasa server itself (runtime/in_process_actions.py).
        first = texts(servers.say(newcomer, "what is BioWin?"))
        assert first.startswith(UNAVAILABLE_EN) and UNAVAILABLE_FR not in first

        async def over_socketio():
            async with SocketChat(servers.url) as chat:
                return texts_of(await chat.ask("what is MecaTech?", metadata={"language": "en"}))

        assert asyncio.run(over_socketio()).startswith(UNAVAILABLE_EN)  # the web page's language
        # a response of the domain (no custom action) still comes
        assert "Bonjour" in texts(servers.say(french, "bonjour"))
    finally:
        servers.restart_actions()
    answer = texts(servers.say(french, "et ses membres ?"))
    assert "Skywin" in answer and "indisponible" not in answer
    assert "BioWin is the health" in texts(servers.say(newcomer, "what is BioWin?"))


def test_action_server_frozen_then_resumed(servers):
    french = new_user("stop-fr")
    assert "BioWin" in texts(servers.say(french, "c'est quoi BioWin ?"))
    servers.signal_actions(signal.SIGSTOP)
    try:
        replies, elapsed = timed(servers.say, french, "et son site web ?")
        assert texts(replies).startswith(UNAVAILABLE_FR) and "Sorry" not in texts(replies)
        assert elapsed < 5 + 3, f"the user waited {elapsed:.1f} s"  # ACTION_SERVER_TIMEOUT (default 5 s)

        async def over_socketio():
            async with SocketChat(servers.url) as chat:
                start = time.monotonic()
                answer = texts_of(await chat.ask("what is Skywin?"))
                return answer, time.monotonic() - start

        answer, elapsed = asyncio.run(over_socketio())
        assert answer.startswith(UNAVAILABLE_EN) and UNAVAILABLE_FR not in answer and elapsed < 5 + 3
    finally:
        servers.signal_actions(signal.SIGCONT)
    assert "Le site web de BioWin : https://www.biowin.org" in texts(servers.say(french, "et son site web ?"))
