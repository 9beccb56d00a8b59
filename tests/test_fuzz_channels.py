"""Property-based fuzzing of the web channels at volume (hypothesis, derandomised, no deadline: a
failure is reproducible): at least 1,000 generated payloads to each of REST and socket.io —
wrong types, missing fields, huge or deeply nested JSON, invalid UTF-8, control characters,
forged button payloads (made-up intents, entities, slots), long sender ids, metadata of every
shape, binary socket.io packets — against servers of their own. Throughout: no 5xx, ordinary
conversations still answered; after: the server up, no unhandled exception in its log, its memory
back within 10 % of what it was before."""

import asyncio
import json
import re
import threading
import time
import uuid
from typing import Any, List

import pytest
import requests
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening import GuardedServers, texts_of
from tests.servers import ensure_model

EXAMPLES = 1000
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
INTENTS = ["ask_cluster_info", "inform_goal", "restart", "session_start", "forget_me", "greet", "nlu_fallback",
           "action_forget_me", "made_up_intent", "ask_cluster_website"]
ENTITIES = ["cluster", "goal", "language", "requested_slot", "activity", "sticky_language", "made_up", "organisation_type"]

text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300) | \
    st.text(alphabet="\x00\x07\x1b[]()<>/{}\"'\\*_!\u202e\ufeff", max_size=100)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(text, children, max_size=5),
    max_leaves=30,
)
forged_payload = st.builds(
    lambda intent, entities: "/" + intent + (json.dumps(entities) if entities else ""),
    st.sampled_from(INTENTS) | st.from_regex(r"[a-z_@.0-9]{1,40}", fullmatch=True),
    st.dictionaries(st.sampled_from(ENTITIES) | text, json_values, max_size=4),
)
message = text | forged_payload | st.builds(lambda n: "x" * n, st.integers(0, 30_000)) | json_values
sender = st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True) | st.builds(lambda n: "s" * n, st.integers(100, 400)) | \
    json_values
metadata = json_values | st.fixed_dictionaries({"language": json_values}) | \
    st.builds(lambda n: {"language": "fr", "padding": "p" * n}, st.integers(0, 300_000))


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


rest_body = st.one_of(
    st.fixed_dictionaries({"sender": sender, "message": message}, optional={"metadata": metadata}).map(json.dumps),
    st.fixed_dictionaries({}, optional={"sender": sender, "message": message, "metadata": metadata,
                                        "input_channel": text}).map(json.dumps),
    json_values.map(json.dumps),
    st.builds(lambda n: '{"sender": "deep", "message": "hi", "metadata": ' + nested(n) + "}", st.integers(1, 120_000)),
).map(str.encode) | st.binary(max_size=2000)  # binary: mostly invalid UTF-8

socket_frame = st.one_of(
    st.fixed_dictionaries({}, optional={"message": message, "session_id": sender, "customData": metadata})
    .map(lambda data: "42" + json.dumps(["user_uttered", data])),
    st.tuples(st.sampled_from(["user_uttered", "session_request", "connect", "disconnect", "bogus"]), json_values)
    .map(lambda event: "42" + json.dumps(list(event))),
    st.builds(lambda n: '42["user_uttered",{"message":"hi","customData":' + nested(n) + "}]", st.integers(1, 120_000)),
    st.from_regex(r"4[0-6][0-9]{0,11}-?\[.{0,40}\]", fullmatch=True),  # binary headers and odd packet types
    text.map(lambda t: "4" + t),
    st.binary(max_size=3000),  # a binary frame
)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    ensure_model()
    servers = GuardedServers(tmp_path_factory.mktemp("fuzz"))
    try:
        yield servers.start()
    finally:
        servers.stop()


class OrdinaryConversations(threading.Thread):
    """A user asking a real question every second while the fuzzing runs."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.answered, self.failures = url, threading.Event(), 0, []

    def run(self) -> None:
        while not self.stop.wait(1):
            try:
                reply = requests.post(f"{self.url}/webhooks/rest/webhook", timeout=60,
                                      json={"sender": f"ordinary-{uuid.uuid4().hex[:8]}", "message": "what is Skywin?"})
                if reply.status_code == 200 and "Skywin" in texts_of(reply.json()):
                    self.answered += 1
                else:
                    self.failures.append((reply.status_code, reply.text[:200]))
            except requests.RequestException as error:
                self.failures.append(repr(error))


class Socket:
    """A raw engine.io websocket on a loop of its own thread; reopened when the server closes it."""

    def __init__(self, url: str) -> None:
        self.address = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.socket: Any = None
        self.reopened = 0

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    async def _open(self) -> None:
        self.socket = await websockets.connect(self.address, max_size=None, close_timeout=1, ping_interval=None)
        assert (await asyncio.wait_for(self.socket.recv(), 10)).startswith("0")
        await self.socket.send("40")
        assert (await asyncio.wait_for(self.socket.recv(), 10)).startswith("40")
        asyncio.ensure_future(self._drain(self.socket))

    async def _drain(self, socket: Any) -> None:
        try:
            async for frame in socket:
                if frame == "2":
                    await socket.send("3")
        except websockets.ConnectionClosed:
            pass

    async def _send(self, frame: Any) -> None:
        if self.socket is None or self.socket.closed:
            self.reopened += self.socket is not None
            await self._open()
        try:
            await self.socket.send(frame)
        except websockets.ConnectionClosed:
            self.socket = None

    def send(self, frame: Any) -> None:
        self.call(self._send(frame))

    def close(self) -> None:
        if self.socket is not None:
            self.call(self.socket.close())
        self.loop.call_soon_threadsafe(self.loop.stop)


def log_problems(servers: GuardedServers, start: int) -> List[str]:
    log = (servers.workdir / "rasa.log").read_bytes()[start:].decode(errors="replace")
    return [line for line in log.splitlines() if re.search(r"Traceback|\bERROR\b|Exception", line)]


def test_fuzzing_rest_and_socketio(servers, capsys):
    assert "Skywin" in texts_of(servers.say("warm-up", "what is Skywin?"))
    for _ in range(2):  # warm: every code path of an ordinary conversation loaded once
        servers.say(f"warm-{uuid.uuid4().hex[:6]}", "which cluster fits me?")
    memory_before = servers.rasa_rss_mb()
    log_start = len((servers.workdir / "rasa.log").read_bytes())
    ordinary = OrdinaryConversations(servers.url)
    ordinary.start()
    statuses: List[int] = []

    @FUZZ
    @given(rest_body)
    def fuzz_rest(body: bytes) -> None:
        reply = requests.post(f"{servers.url}/webhooks/rest/webhook", data=body, timeout=60,
                              headers={"Content-Type": "application/json"})
        statuses.append(reply.status_code)
        assert reply.status_code < 500, (reply.status_code, reply.text[:300])

    socket = Socket(servers.url)
    frames: List[int] = []

    @FUZZ
    @given(socket_frame)
    def fuzz_socketio(frame: Any) -> None:
        socket.send(frame)
        frames.append(1)

    try:
        fuzz_rest()
        fuzz_socketio()
    finally:
        socket.close()
        ordinary.stop.set()
        ordinary.join(70)
    time.sleep(10)  # what was queued is handled
    assert requests.get(servers.url + "/", timeout=10).ok  # still up
    assert "Skywin" in texts_of(servers.say(f"after-{uuid.uuid4().hex[:6]}", "what is Skywin?"))
    memory_after = servers.rasa_rss_mb()
    with capsys.disabled():
        print(f"\nfuzz: {len(statuses)} REST payloads (statuses {sorted(set(statuses))}), {len(frames)} socket.io "
              f"frames ({socket.reopened} reconnections); {ordinary.answered} ordinary questions answered during it; "
              f"Rasa server RSS {memory_before:.0f} MB before, {memory_after:.0f} MB after")
    assert len(statuses) >= EXAMPLES and len(frames) >= EXAMPLES
    assert ordinary.answered > 0 and not ordinary.failures, ordinary.failures[:5]
    assert not log_problems(servers, log_start), log_problems(servers, log_start)[:10]
    assert memory_after <= memory_before * 1.10, (memory_before, memory_after)
