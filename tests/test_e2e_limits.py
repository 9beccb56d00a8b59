"""The smaller limits of the security review (issue 15, item 7), each against the real thing:
Sanic refuses a request over 1 MB before reading its body; JSON nested too deeply is a 400 over
REST and a logged refusal over socket.io (no 500, no unhandled RecursionError); socket.io accepts
only the configured origins (not one that matches the Host header); the SQLite tracker store
overwrites what it deletes; the chat page's server drops a silent connection."""

import asyncio
import socket
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
import yaml
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from tests.hardening import WebSocketChat, shared_servers, texts_of
from tests.servers import ROOT, environment, free_port, wait_until

DEEP = 100_000  # levels of nesting: past the JSON decoder's recursion limit


@pytest.fixture(scope="module")
def servers(request, tmp_path_factory):
    return shared_servers(request, tmp_path_factory)


def raw_request(port: int, head: bytes, body: bytes = b"", wait: float = 30) -> "bytes | None":
    """The head of the server's answer to a request sent as written (b"" when it closed without
    one), or None when it said nothing and kept the connection open for `wait` s."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        connection.sendall(head + body)
        answer = b""
        try:
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    return answer
                answer += chunk
                if b"\r\n\r\n" in answer:
                    return answer
        except socket.timeout:
            return answer or None


def test_a_request_over_1_mb_is_refused_before_its_body_is_read(servers):
    head = (f"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {5 * 1024 * 1024}\r\n\r\n").encode()
    answer = raw_request(servers.rasa_port, head, b"{" + b" " * 1000, wait=15)  # the rest never comes
    assert answer and answer.startswith(b"HTTP/1.1 413"), answer


def test_deeply_nested_json_is_a_400_over_rest(servers):
    body = ('{"sender": "deep", "message": "hi", "metadata": ' + "[" * DEEP + "]" * DEEP + "}").encode()
    assert len(body) < 256 * 1024
    response = servers.post(None, raw=body)
    assert response.status_code == 400, response.text[:200]


def test_deeply_nested_json_over_socketio_is_refused_and_the_next_message_answered(servers):
    async def scenario():
        async with WebSocketChat(servers.url) as chat:
            await chat.socket.send('42["user_uttered",{"message":"hi","customData":' + "[" * DEEP + "]" * DEEP + "}]")
            await chat.send("what is Skywin?")
            return texts_of([await chat.next(timeout=20)])

    log_start = len((servers.workdir / "rasa.log").read_bytes())
    assert "Skywin" in asyncio.run(scenario())
    log = (servers.workdir / "rasa.log").read_bytes()[log_start:].decode(errors="replace")
    assert "RecursionError" not in log and "Traceback" not in log, log[-2000:]
    assert "nested too deeply" in log


def test_socketio_accepts_no_origin_that_merely_matches_the_host_header(servers):
    async def connect(origin):
        async with WebSocketChat(servers.url, origin=origin):
            return True

    with pytest.raises(ConnectionRefusedError):  # a DNS-rebinding page: its origin is the server's Host
        asyncio.run(connect(f"http://127.0.0.1:{servers.rasa_port}"))
    assert asyncio.run(connect("http://localhost:8080"))  # the configured chat page


def test_the_sqlite_tracker_store_overwrites_what_it_deletes(tmp_path):
    from rasa.shared.utils.common import class_from_module_path

    from stores.sql_tracker_store import CheckedSQLTrackerStore

    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    store_class = class_from_module_path(endpoints["tracker_store"]["type"])  # the Bounded store, a Checked one
    assert issubclass(store_class, CheckedSQLTrackerStore)
    store = store_class(dialect="sqlite", db=str(tmp_path / "conversations.db"))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    secret = "Zorblaxian-" + uuid.uuid4().hex
    with store.engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO events (sender_id, type_name, data) VALUES ('u', 'user', ?)", (secret,))
    files = [tmp_path / "conversations.db", tmp_path / "conversations.db-wal"]
    assert any(secret.encode() in f.read_bytes() for f in files if f.exists())
    forget = DialogueStateTracker.from_events("u", [UserUttered("forget me"), ActionExecuted("action_forget_me")])
    asyncio.run(store.save(forget))  # "forget me": the conversation deleted, the server still running
    assert not any(secret.encode() in f.read_bytes() for f in files if f.exists())
    store.engine.dispose()
    assert secret.encode() not in files[0].read_bytes()


def test_the_chat_page_server_drops_a_silent_connection(tmp_path):
    port = free_port()
    log = tmp_path / "web.log"
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve_web.py"), "--port", str(port)],
                               cwd=ROOT, env=environment(), stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_until(f"http://127.0.0.1:{port}/", process, log, timeout=60)
        # a request that never ends (slowloris): the server must close it rather than wait for ever
        assert raw_request(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", wait=60) == b""
    finally:
        process.terminate()
        process.wait(timeout=20)
