"""Metadata sent by a client, over REST and socket.io: only the language is stored, as a short
string (`channels.guard.clean_metadata`); a client cannot write the stored `input_guard`,
`model_id` or `assistant_id`, nor make each message store hundreds of kilobytes."""

import asyncio
import json
import sqlite3
import uuid

import pytest

from channels.guard import clean_metadata
from tests.hardening import SocketChat, shared_servers

BULKY = {
    "language": "fr",
    "input_guard": {"forged": True},
    "model_id": "forged-model",
    "assistant_id": "forged-assistant",
    "padding": "x" * 200_000,
    "nested": {"a": [{"b": list(range(100))}] * 20},
}


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    return shared_servers(request, tmp_path_factory)


def stored_bytes(servers, sender):
    with sqlite3.connect(str(servers.sqlite_path), timeout=15) as connection:
        return connection.execute("SELECT coalesce(sum(length(data)), 0) FROM events WHERE sender_id = ?",
                                  (sender,)).fetchone()[0]


def assert_only_the_language_kept(servers, sender, messages):
    users = servers.user_events(sender)
    assert len(users) == messages
    for event in users:
        metadata = event["metadata"]
        assert metadata["language"] == "fr"
        assert set(metadata) <= {"language", "input_guard", "model_id", "assistant_id"}, metadata
        assert metadata["input_guard"] == {"metadata_dropped": True}
        assert metadata["model_id"] != "forged-model" and metadata["assistant_id"] != "forged-assistant"
    assert stored_bytes(servers, sender) < messages * 20_000  # a few KB a message, not 200


def test_rest_stores_only_the_language(servers):
    sender = f"meta-{uuid.uuid4().hex[:10]}"
    for _ in range(5):
        assert servers.post({"sender": sender, "message": "c'est quoi Skywin ?", "metadata": BULKY}).status_code == 200
    assert_only_the_language_kept(servers, sender, 5)


def test_socketio_stores_only_the_language(servers):
    async def scenario():
        async with SocketChat(servers.url) as chat:
            for _ in range(3):
                await chat.ask("c'est quoi Skywin ?", metadata=BULKY)
            await chat.ask("et BioWin ?", metadata=json.dumps(BULKY))  # the widget may send a JSON string
            return chat.session_id

    assert_only_the_language_kept(servers, asyncio.run(scenario()), 4)


def test_socketio_refuses_a_payload_over_256_kb(servers):
    async def scenario():
        async with SocketChat(servers.url) as chat:
            await chat.send("what is Skywin?", metadata={"language": "en", "padding": "x" * 300_000})
            await asyncio.sleep(2)
            return chat.session_id, chat.client.connected

    session, connected = asyncio.run(scenario())
    assert servers.user_events(session) == [] and not connected


@pytest.mark.parametrize("metadata, kept, dropped", [
    ({"language": "fr"}, {"language": "fr"}, False),
    ({"language": " en-GB "}, {"language": "en-GB"}, False),
    ({"language": "x" * 17}, None, True),
    ({"language": ["fr"]}, None, True),
    ({"language": "fr\x00"}, None, True),
    ({"language": "fr", "model_id": "m"}, {"language": "fr"}, True),
    ({}, None, False),
    (None, None, False),
    ("fr", None, False),
])
def test_clean_metadata(metadata, kept, dropped):
    info = {}
    assert clean_metadata(metadata, info) == kept
    assert info == ({"metadata_dropped": True} if dropped else {})
