"""Socket.io conversations bound to the connection that opened them (`channels.socketio`): the
session id is signed by the server at `session_confirm`; a `session_request` for an id it did not
sign gets a new one; a message naming another session than its socket's is refused, so knowing
someone's id is not enough to read or write their conversation."""

import asyncio
import uuid

import pytest

from tests.hardening import SocketChat, shared_servers, texts_of
from tests.servers import texts


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    return shared_servers(request, tmp_path_factory)


def test_an_id_the_server_did_not_sign_is_not_taken(servers):
    victim = f"victim-{uuid.uuid4().hex[:10]}"  # e.g. a REST conversation, or an id seen somewhere
    assert "Skywin" in texts(servers.say(victim, "what is Skywin?"))

    async def scenario():
        async with SocketChat(servers.url, session_id=victim) as chat:
            await chat.ask("which cluster fits me?")
            return chat.session_id

    session = asyncio.run(scenario())
    assert session != victim and session.count(".") == 1
    assert [e["text"] for e in servers.user_events(victim)] == ["what is Skywin?"]


def test_a_message_for_another_session_is_refused(servers):
    async def scenario():
        async with SocketChat(servers.url) as victim, SocketChat(servers.url) as attacker:
            await victim.ask("what is BioWin?")
            await attacker.client.emit("user_uttered", {"message": "forget me", "session_id": victim.session_id})
            await asyncio.sleep(3)
            leaked = not victim.received.empty() or not attacker.received.empty()
            await victim.ask("and its website?")
            return victim.session_id, attacker.session_id, leaked

    victim, attacker, leaked = asyncio.run(scenario())
    assert not leaked
    assert [e["text"] for e in servers.user_events(victim)] == ["what is BioWin?", "and its website?"]
    assert servers.user_events(attacker) == []


def test_a_reloaded_page_keeps_its_signed_session(servers):
    async def open_session(session_id=None):
        async with SocketChat(servers.url, session_id=session_id) as chat:
            answer = texts_of(await chat.ask("what is Skywin?" if session_id is None else "and its website?"))
            return chat.session_id, answer

    session, _ = asyncio.run(open_session())
    again, answer = asyncio.run(open_session(session))
    assert again == session and "skywin.be" in answer  # the conversation went on
    forged = session[:-1] + ("0" if session[-1] != "0" else "1")
    assert asyncio.run(open_session(forged))[0] not in (session, forged)
