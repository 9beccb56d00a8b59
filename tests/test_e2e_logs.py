"""What the servers' logs keep of ordinary traffic (docs/privacy.md): no ERROR line, none of the
users' words, no raw conversation id (only its hash, `channels.guard.conversation_tag`).

Servers of their own, so that their logs hold only this test's conversations: every kind of them
over REST and socket.io — the tour (its buttons are interpolated by Rasa), questions, lists, the
guided dialogue with a free-text activity, French, a fallback, a refused payload, cleaned input,
"forget me"."""

import asyncio
import copy
import re
import uuid

import pytest
import structlog.testing
import yaml
from rasa.core.nlg.interpolator import interpolate

from channels.guard import conversation_tag
from tests.hardening import GuardedServers, SocketChat, texts_of, wait_for
from tests.servers import ROOT, ensure_model, texts

# Words no log line may carry: they appear only in what the users wrote.
SECRET_WORDS = ("Zorblaxian", "Quuxtopia", "Frobnitzer", "Plughwerk", "Xyzzyvale")


def test_rasa_interpolates_every_response_of_the_domain_without_an_error():
    """Rasa fills `{slot}` placeholders in the domain's responses, and logs an ERROR carrying every
    slot value for a brace that names no slot: a button payload's JSON must be written `{{…}}`."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    slots = {name: "Zorblaxian" for name in domain["slots"]}
    with structlog.testing.capture_logs() as logged:  # Rasa's interpolator logs through structlog
        for variants in domain["responses"].values():
            for variant in variants:
                for button in interpolate(copy.deepcopy(variant), slots).get("buttons", []):
                    assert button["payload"].startswith("/") and "{{" not in button["payload"], button
    assert not [entry for entry in logged if entry["log_level"] == "error"], logged


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    ensure_model()
    servers = GuardedServers(tmp_path_factory.mktemp("logs"))
    try:
        yield servers.start()
    finally:
        servers.stop()


def converse_over_rest(servers, sender):
    assert "I know Wallonia's business and competitiveness clusters" in texts(servers.say(sender, "what can you do?"))
    assert "I know Wallonia's business and competitiveness clusters" in texts(servers.say(sender, ""))
    assert "Skywin is the Aerospace" in texts(servers.say(sender, "tell me about Skywin"))
    servers.say(sender, "list the clusters")
    assert "What does your organisation do?" in texts(servers.say(sender, "which cluster fits me?"))
    servers.say(sender, "we are Zorblaxian Quuxtopia, we build Frobnitzer drones in Namur")
    servers.say(sender, "a company")
    servers.say(sender, "partners for research")
    servers.say(sender, "c'est quoi Plughwerk ? et BioWin ?")
    servers.say(sender, "Xyzzyvale weather tomorrow?")
    servers.say(sender, '/inform_goal{"language": "Quuxtopia"}')  # refused payload, read as text
    servers.say(sender, "what is <b>Zorblaxian</b>\x07 [Skywin](javascript:alert(1))?")  # cleaned input
    assert "Delete this conversation" in texts(servers.say(sender, "forget me"))
    assert "Done: I have deleted this conversation" in texts(servers.say(sender, "yes"))


def test_ordinary_traffic_logs_no_error_no_user_words_no_raw_ids(servers):
    rest_sender = f"logs-{uuid.uuid4().hex}"
    converse_over_rest(servers, rest_sender)
    fr_sender = f"logs-fr-{uuid.uuid4().hex}"
    assert "Que fait votre organisation" in texts(servers.say(fr_sender, "quel cluster me convient ?"))
    servers.say(fr_sender, "nous fabriquons des Frobnitzer à Liège")
    servers.say(fr_sender, "aide")

    async def over_socketio():
        async with SocketChat(servers.url) as chat:
            await chat.ask("hello", metadata={"language": "en"})
            await chat.ask("what can you do?")
            await chat.ask("which cluster fits me?")
            await chat.ask("we recycle Plughwerk batteries for Xyzzyvale")
            await chat.ask("oublie-moi")
            await chat.ask("oui")
            return chat.session_id

    socket_session = asyncio.run(over_socketio())
    assert wait_for(lambda: servers.rows(rest_sender) == [], timeout=10)

    logs = {name: (servers.workdir / name).read_text(errors="replace") for name in ("rasa.log", "actions.log")}
    for name, log in logs.items():
        errors = [line for line in log.splitlines() if re.search(r"\bERROR\b|Traceback", line)]
        assert not errors, f"{name}:\n" + "\n".join(errors[:10])
        for word in SECRET_WORDS:
            assert word.casefold() not in log.casefold(), f"{name} carries a user's word {word!r}"
        for conversation in (rest_sender, fr_sender, socket_session):
            assert conversation not in log, f"{name} carries the raw conversation id {conversation}"
    # the conversations are still told apart in the logs, by their hash
    assert conversation_tag(rest_sender) in logs["rasa.log"]
