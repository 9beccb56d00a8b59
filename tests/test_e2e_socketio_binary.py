"""Binary socket.io packets (CVE-2026-48804 in python-socketio 5.9.0, which is pinned): the
guarded channel refuses them and holds nothing of them (`channels.socketio.TextOnlyServer`), over
the real Rasa server and raw engine.io frames as an attacker writes them."""

import asyncio

import pytest
import websockets

from tests.hardening import WebSocketChat, shared_servers, texts_of

# An engine.io message ("4") holding a socket.io BINARY_EVENT header ("5") that declares
# 9 999 999 999 attachments (the library's maximum: 10 digits).
HUGE_BINARY_HEADER = '459999999999-["user_uttered",{"_placeholder":true,"num":0}]'
FRAME = b"\0" * 200_000  # under the channel's limit of one message (256 KB)
FRAMES = 250  # 50 MB


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    return shared_servers(request, tmp_path_factory)


async def open_engineio(url: str, origin: str):
    socket = await websockets.connect(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
                                      origin=origin, max_size=None, close_timeout=1)
    assert (await asyncio.wait_for(socket.recv(), 10)).startswith("0")
    return socket


def test_a_refused_connection_cannot_make_the_server_hold_attachments(servers):
    async def attack():
        socket = await open_engineio(servers.url, origin="http://evil.example")
        await socket.send("40")
        assert (await asyncio.wait_for(socket.recv(), 10)).startswith("44")  # origin refused
        await socket.send(HUGE_BINARY_HEADER)
        for sent in range(1, FRAMES + 1):
            await socket.send(FRAME)
            if sent % 25 == 0:  # pace: once the server has read these (its answer to a connect comes after)
                await socket.send("40")
                try:  # (5.9.0 alone takes the connect for one more attachment and never answers)
                    await asyncio.wait_for(socket.recv(), 3)
                except asyncio.TimeoutError:
                    pass
        await socket.close()

    async def conversation():
        async with WebSocketChat(servers.url) as chat:
            await chat.send("hello")
            return texts_of([await chat.next()])

    assert asyncio.run(conversation())  # warm: the first conversation loads what every later one uses
    before = servers.rasa_rss_mb()
    asyncio.run(attack())
    asyncio.run(asyncio.sleep(2))
    after = servers.rasa_rss_mb()
    # 5.9.0 alone holds the ~50 MB sent, for good; refused frames are freed as they arrive
    sent_mb = FRAMES * len(FRAME) / 1e6
    assert after - before < sent_mb / 2, f"RSS {before:.0f} MB -> {after:.0f} MB after {sent_mb:.0f} MB of attachments"
    assert asyncio.run(conversation())


def test_a_binary_header_does_not_swallow_the_next_message(servers):
    async def scenario():
        async with WebSocketChat(servers.url) as chat:
            # 5.9.0 alone takes the next frame, whatever it is, for the attachment
            await chat.socket.send('451-["user_uttered",{"_placeholder":true,"num":0}]')
            await chat.send("what is Skywin?")
            return texts_of([await chat.next(timeout=20)])

    assert "Skywin" in asyncio.run(scenario())


def test_a_numeric_message_is_refused_and_the_chat_goes_on(servers):
    async def scenario():
        async with WebSocketChat(servers.url) as chat:
            for message in ("4-1.5", "4true", "4null"):  # python-engineio decodes these to a float, a bool, None
                await chat.socket.send(message)
            await chat.send("what is Skywin?")
            return texts_of([await chat.next(timeout=20)])

    assert "Skywin" in asyncio.run(scenario())
    log = (servers.workdir / "rasa.log").read_text(errors="replace")
    assert "Socket.io packet refused: not text." in log and "TypeError" not in log
