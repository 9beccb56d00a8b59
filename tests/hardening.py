"""Support for the hardening tests (tests/test_e2e_*.py of persistence, faults, hostile input,
privacy, security): the servers as scripts/run.sh starts them, a socket.io client, the tracker
store's rows.

`GuardedServers` extends `tests.servers.Servers` (the guarded REST and socket.io channels, the
action server bound to 127.0.0.1, as scripts/launcher.py starts them) with no developer's Telegram /
Slack variables, both servers on the same SQLite tracker store (`sqlite_path`, also given to the
action server as CONVERSATIONS_DB), and extra `rasa run` arguments.
"""

import asyncio
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import requests
import socketio

from scripts import launcher
from tests.channel_mocks import CHANNEL_VARIABLES
from tests.servers import Servers, ensure_model, free_port


@dataclass
class GuardedServers(Servers):
    sqlite_path: Optional[Path] = None
    rasa_args: Sequence[str] = ()

    def __post_init__(self) -> None:
        self.sqlite_path = Path(self.sqlite_path or self.workdir / "conversations.db")
        self.extra_env = {
            **{name: "" for name in CHANNEL_VARIABLES},  # no developer's Telegram/Slack here
            "SANIC_HOST": "127.0.0.1",
            "CONVERSATIONS_DB": str(self.sqlite_path),
            **self.extra_env,
        }
        self.actions: Optional[subprocess.Popen] = None

    def start(self) -> "GuardedServers":
        self.actions_port = self.actions_port or free_port()
        self.actions = self.start_actions()
        endpoints = launcher.sqlite_endpoints(self.workdir / "endpoints.yml", self.actions_port, self.sqlite_path)
        self.start_rasa(endpoints=endpoints, extra_args=self.rasa_args)  # the guarded channels, as Servers
        return self

    def restart_actions(self) -> None:
        """A new action server on the same port (after the old one was killed)."""
        if self.actions is not None and self.actions in self.processes:
            self.processes.remove(self.actions)
        self.actions = self.start_actions()

    def signal_actions(self, signum: int) -> None:
        assert self.actions is not None
        os.kill(self.actions.pid, signum)

    def kill_actions(self) -> None:
        self.signal_actions(signal.SIGKILL)
        self.actions.wait(timeout=10)

    def database(self) -> Path:
        return self.sqlite_path

    def post(self, body: Any, raw: Optional[bytes] = None, timeout: float = 60) -> requests.Response:
        url = f"{self.url}/webhooks/rest/webhook"
        if raw is not None:
            return requests.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=timeout)
        return requests.post(url, json=body, timeout=timeout)

    def rasa_rss_mb(self) -> float:
        """The Rasa server's resident memory, in MB (from /proc)."""
        rasa = next(p for p in self.processes if "runtime" in p.args)
        for line in Path(f"/proc/{rasa.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


def texts_of(messages: List[Dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


# --- socket.io ---------------------------------------------------------------------------------


@dataclass
class SocketChat:
    """A socket.io client of the Rasa server, as the web widget is: session_request, then
    user_uttered {message, session_id}; bot_uttered events collected in `received`. Over
    long-polling (see WebSocketChat for why not websocket)."""

    url: str
    session_id: Optional[str] = None
    headers: Dict[str, str] = field(default_factory=dict)
    received: "asyncio.Queue[Dict[str, Any]]" = field(default_factory=asyncio.Queue)
    wait_timeout: float = 10
    source_address: Optional[str] = None  # a loopback address of its own (127.0.0.x): another user

    async def __aenter__(self) -> "SocketChat":
        http = None
        if self.source_address:
            import aiohttp

            http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(self.source_address, 0)))
        self.client = socketio.AsyncClient(reconnection=False, **({"http_session": http} if http else {}))
        self.http = http
        confirmed = asyncio.get_running_loop().create_future()

        @self.client.on("session_confirm")
        async def on_confirm(session_id: Any) -> None:
            if not confirmed.done():
                confirmed.set_result(session_id)

        @self.client.on("bot_uttered")
        async def on_bot(data: Dict[str, Any]) -> None:
            await self.received.put(data)

        await self.client.connect(self.url, headers=self.headers, transports=["polling"],
                                  wait_timeout=self.wait_timeout)
        await self.client.emit("session_request", {"session_id": self.session_id})
        self.session_id = await asyncio.wait_for(confirmed, 10)
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.client.disconnect()
        if self.http is not None:
            await self.http.close()

    async def send(self, message: Any, metadata: Optional[Dict[str, Any]] = None) -> None:
        data = {"message": message, "session_id": self.session_id}
        if metadata is not None:
            data["customData"] = metadata
        await self.client.emit("user_uttered", data)

    async def next(self, timeout: float = 30) -> Dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def answer(self, timeout: float = 30, quiet: float = 0.5) -> List[Dict[str, Any]]:
        """The bot messages of one answer: the first, then all that follow within `quiet` s."""
        messages = [await self.next(timeout)]
        while True:
            try:
                messages.append(await asyncio.wait_for(self.received.get(), quiet))
            except asyncio.TimeoutError:
                return messages

    async def ask(self, message: Any, **kwargs: Any) -> List[Dict[str, Any]]:
        await self.send(message, kwargs.pop("metadata", None))
        return await self.answer(**kwargs)


@dataclass
class WebSocketChat:
    """The same conversation over the websocket transport, which browsers use: engine.io 4 and
    socket.io 5 framing written here on the `websockets` package. (python-socketio's AsyncClient
    cannot open a websocket in this venv: python-engineio 4.15 wants aiohttp's ClientWSTimeout,
    aiohttp >= 3.10, and Rasa pins 3.9; over long-polling it batches the events queued during one
    HTTP request into one payload, and the server refuses a payload of more than 16 packets —
    engineio's max_decode_packets — so 20 messages sent at once over polling are all refused.)"""

    url: str
    session_id: Optional[str] = None
    origin: Optional[str] = None
    received: "asyncio.Queue[Dict[str, Any]]" = field(default_factory=asyncio.Queue)
    source_address: Optional[str] = None  # as SocketChat's

    async def __aenter__(self) -> "WebSocketChat":
        import websockets

        address = self.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        local = {"local_addr": (self.source_address, 0)} if self.source_address else {}
        self.socket = await websockets.connect(address, origin=self.origin, max_size=None, close_timeout=1, **local)
        opening = await asyncio.wait_for(self.socket.recv(), 10)
        assert opening.startswith("0"), opening
        await self.socket.send("40")
        connected = await asyncio.wait_for(self.socket.recv(), 10)
        if not connected.startswith("40"):  # "44{...}": the namespace refused the connection
            await self.socket.close()
            raise ConnectionRefusedError(connected)
        self.confirmed: "asyncio.Future[str]" = asyncio.get_running_loop().create_future()
        self.reader = asyncio.ensure_future(self._read())
        await self.emit("session_request", {"session_id": self.session_id})
        self.session_id = await asyncio.wait_for(self.confirmed, 10)
        return self

    async def _read(self) -> None:
        async for frame in self.socket:
            if frame == "2":  # engine.io ping
                await self.socket.send("3")
            elif frame.startswith("42"):
                event, *args = json.loads(frame[2:])
                if event == "session_confirm" and not self.confirmed.done():
                    self.confirmed.set_result(args[0])
                elif event == "bot_uttered":
                    await self.received.put(args[0])

    async def __aexit__(self, *_: Any) -> None:
        self.reader.cancel()
        await self.socket.close()

    async def emit(self, event: str, data: Any) -> None:
        await self.socket.send("42" + json.dumps([event, data]))

    async def send(self, message: Any) -> None:
        await self.emit("user_uttered", {"message": message, "session_id": self.session_id})

    async def next(self, timeout: float = 30) -> Dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), timeout)


def wait_for(predicate: Any, timeout: float = 10, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


_SHARED: Dict[str, GuardedServers] = {}


def shared_servers(request: Any, tmp_path_factory: Any) -> GuardedServers:
    """One set of guarded servers for every test module that only talks to them (hostile input,
    privacy), started on first use and stopped at the end of the test session."""
    if "guarded" not in _SHARED:
        ensure_model()
        servers = GuardedServers(tmp_path_factory.mktemp("guarded"))
        request.config.add_cleanup(servers.stop)
        _SHARED["guarded"] = servers.start()
    return _SHARED["guarded"]


def ticks_during(call) -> "tuple[int, object]":
    """How often a coroutine beside `call` ran while `call` was awaited, and what it gave."""
    async def run():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)
        before = ticks
        try:
            result = await call()
        except Exception as error:  # what the call raised is its result here
            result = error
        ticker.cancel()
        return ticks - before, result

    return asyncio.run(run())
