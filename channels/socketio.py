"""Socket.io channel: Rasa 3.6.21's `SocketIOInput` (same path `/socket.io`, same events and
credentials: user_message_evt, bot_message_evt, session_persistence, namespace, socketio_path,
jwt_key, jwt_method, metadata_key) with the connecting page's origin checked and every message
guarded (`channels.guard`). Plugged in by module path in the credentials
(`channels.socketio.GuardedSocketIOInput:`; `scripts/credentials.py --guarded` writes it).

Changed from Rasa's:
- Origin: a browser connection is accepted only from the web page's origin(s): the credential
  `allowed_origins` (a list, or a string of origins separated by spaces or commas), else the
  environment variable WEB_ORIGIN, else http://localhost:8080; "*" allows every origin. A
  connection without an Origin header (not a browser: no page of another site can make it) is
  accepted; the Rasa server's own origin is not (it would be read from the Host header, which a
  DNS-rebinding page sets). The check is made when the
  socket.io connection is opened (the `connect` handler returns False: the client gets a
  connect_error), not through python-engineio's `cors_allowed_origins`: that would also add an
  Access-Control-Allow-Origin header to the polling responses, which `rasa run --cors` already
  adds (Sanic-CORS), and a browser refuses a response with two. (Rasa passes
  `cors_allowed_origins=[]` for that reason, which turns the origin check off altogether.)
- every message: the text is cleaned and capped, hand-typed payloads are limited to the bot's own
  buttons, the messages of a session are handled one at a time, in order, and each gets at least
  one answer: see `channels.guard`;
- sessions are bound to their connection: `session_confirm` gives a session id signed by the
  server (`<random>.<HMAC>`, key SESSION_SECRET, else one drawn at start); a `session_request`
  keeps the id it names only when it carries a valid signature (a page reloaded), else it gets a
  new one; a message is handled in the session its socket opened, and refused when it names
  another (Rasa trusts every message's `session_id`: knowing an id was enough to read and write
  that conversation). A message without a session id is handled in its socket's session, or in
  a conversation of its own socket when none was opened (Rasa drops it silently); an event whose data is not an object is ignored
  with a log line; metadata sent as a JSON string that does not parse is dropped (Rasa's handler
  fails on it); of the metadata only the language is kept (`guard.clean_metadata`);
- new connections per client address, and messages per session and per address, are rate
  limited (`channels.rate_limit`): a connection over the limit is refused, a message is answered
  "slow down" and not handled;
- a payload over 256 KB is refused (python-engineio's `max_http_buffer_size`, 1 MB by default);
- binary socket.io packets are refused, and nothing of them is held (`TextOnlyServer`);
- `enter_room` is awaited when it is a coroutine (python-socketio ≥ 5.10).

Importing this module also sets how long Rasa waits for the action server
(`guard.configure_action_server_timeout`, ACTION_SERVER_TIMEOUT, default 5 s).
"""

import hashlib
import hmac
import inspect
import json
import logging
import os
import re
import secrets
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Text, Union

import rasa.core.channels.channel
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
import socketio.packet
from socketio import AsyncServer

from channels import guard, rate_limit

logger = logging.getLogger(__name__)

DEFAULT_WEB_ORIGIN = "http://localhost:8080"

guard.configure_action_server_timeout()


RESERVED_EVENTS = {"connect", "connect_error", "disconnect"}


class TextOnlyServer(AsyncServer):
    """python-socketio's server without binary packets, which the chat never sends.

    python-socketio 5.9.0 (pinned: 5.10+ breaks Rasa's own channel, docs/security.md) stores the
    header of a binary packet (`5<count>-[...]`, packet types BINARY_EVENT and BINARY_ACK) per
    connection before any namespace or origin check, then appends every following frame to it as
    an attachment until `<count>` (up to 10 digits) arrived, and a disconnect does not clear it
    (CVE-2026-48804, fixed in 5.16): a refused connection could make the server hold any amount of
    memory, and on an accepted one the next `user_uttered` was swallowed as an attachment. Here a
    binary header is refused, a binary frame is dropped, and a disconnect clears what the library
    might hold for the connection. A packet that cannot be decoded (JSON nested too
    deeply: RecursionError; malformed: ValueError) is dropped with a log line, and so is an event
    that is not a list starting with a name, or that names one of the server's own events
    (`connect`, `disconnect`: their handlers would be called with a client's arguments). The
    methods overridden are those 5.9.0's `AsyncServer.__init__` registers with python-engineio
    (`eio.on("message")`, `on("disconnect")`) and the event dispatch they call.
    """

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if isinstance(data, bytes):
            return  # an attachment frame: nothing waits for one
        if not isinstance(data, str):  # python-engineio decodes a numeric message ("41.5") to a number
            logger.warning("Socket.io packet refused: not text.")
            return
        if data[:1] in (str(socketio.packet.BINARY_EVENT), str(socketio.packet.BINARY_ACK)):
            self._binary_packet.pop(eio_sid, None)
            logger.warning("Socket.io binary packet refused (the chat sends none).")
            return
        try:
            await super()._handle_eio_message(eio_sid, data)
        except RecursionError:  # python-socketio's JSON decoding of a packet nested too deeply
            logger.warning("Socket.io packet refused: its JSON is nested too deeply.")
        except ValueError as error:  # a packet python-socketio cannot decode (it would log a traceback)
            logger.warning("Socket.io packet refused: %s.", str(error)[:100] or type(error).__name__)

    async def _handle_event(self, eio_sid: str, namespace: Optional[str], id: Any, data: Any) -> None:
        # An event is a list that starts with its name; "connect" and "disconnect" are the server's own.
        if not (isinstance(data, list) and data and isinstance(data[0], str)) or data[0] in RESERVED_EVENTS:
            logger.warning("Socket.io event refused: not a client event.")
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_eio_disconnect(self, eio_sid: str) -> None:
        self._binary_packet.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid)


def parse_origins(value: Union[str, Sequence[str], None]) -> List[str]:
    """Origins without trailing slashes; from a list or a string separated by spaces or commas."""
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value or [])
    return [str(item).strip().rstrip("/") for item in items if str(item).strip()]


class GuardedSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel with an origin check and guarded messages; see the module's docstring."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        origins = credentials.get("allowed_origins") or os.environ.get("WEB_ORIGIN") or DEFAULT_WEB_ORIGIN
        channel.allowed_origins = parse_origins(origins)
        return channel

    def __init__(self, *args: Any, allowed_origins: Union[str, Sequence[str], None] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins = parse_origins(allowed_origins or DEFAULT_WEB_ORIGIN)
        self.guard = guard.MessageGuard()
        self._app: Any = None
        secret = os.environ.get("SESSION_SECRET") or ""
        self._session_key = secret.encode() if secret else secrets.token_bytes(32)
        self._sessions: Dict[str, str] = {}  # socket id -> the session it opened
        self._addresses: Dict[str, str] = {}  # socket id -> its client's address (rate limits)

    def _signature(self, session: str) -> str:
        return hmac.new(self._session_key, session.encode(), hashlib.sha256).hexdigest()[:32]

    def new_session_id(self) -> str:
        """A session id signed by this server: `<random>.<HMAC of it>`."""
        session = uuid.uuid4().hex
        return f"{session}.{self._signature(session)}"

    def is_signed(self, session_id: Any) -> bool:
        """Whether `session_id` is one this server (or one with the same SESSION_SECRET) gave out."""
        if not isinstance(session_id, str) or session_id.count(".") != 1:
            return False
        session, signature = session_id.split(".")
        return hmac.compare_digest(signature, self._signature(session))

    def origin_allowed(self, origin: Optional[str]) -> bool:
        """No Origin (not a browser) or a configured one. (Not "the server's own": that is read from
        the Host header, which a DNS-rebinding page controls.)"""
        if not origin:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/") in self.allowed_origins

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # No CORS handling by python-engineio (see the module's docstring); origins are checked on connect.
        sio = TextOnlyServer(async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=guard.MAX_MESSAGE_BYTES)
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", inspect.getmodule(self).__name__)
        self.sio = sio

        @socketio_webhook.listener("before_server_start")
        async def keep_app(app: Any, _: Any) -> None:
            self._app = app  # for the conversation's language when an answer must be made up
            guard.limit_request_size(app)

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            request = environ.get("sanic.request")
            address = self.guard.limits.address(*rate_limit.sanic_peer(request)) if request is not None else ""
            if not await self.guard.limits.admit_connection(address):
                logger.info("Socket.io connection refused: too many new connections from its address.")
                return False
            self._addresses[sid] = address
            origin = environ.get("HTTP_ORIGIN")
            if not self.origin_allowed(origin):
                logger.warning("Socket.io connection refused from origin %r (allowed: %s).", origin,
                               " ".join(self.allowed_origins))
                return False
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                payload = None
                if token:
                    payload = rasa.core.channels.channel.decode_bearer_token(token, self.jwt_key, self.jwt_algorithm)
                if not payload:
                    return False
            logger.debug("User %s connected to the socket.io endpoint.", sid)
            return True

        @sio.on("disconnect", namespace=self.namespace)
        async def disconnect(sid: Text) -> None:
            self._sessions.pop(sid, None)
            self._addresses.pop(sid, None)
            logger.debug("User %s disconnected from the socket.io endpoint.", sid)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            # the session a page kept (a reload) when this server signed it, else a new one
            session_id = requested if self.is_signed(requested) else self.new_session_id()
            self._sessions[sid] = session_id
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any) -> None:
            if not isinstance(data, dict):
                logger.warning("Socket.io %s event ignored: its data is not an object.", self.user_message_evt)
                return
            output_channel = SocketIOOutput(sio, self.bot_message_evt)
            sender_id = self._sessions.get(sid, sid) if self.session_persistence else sid
            claimed = data.get("session_id")
            if self.session_persistence and claimed and claimed != sender_id:
                logger.warning("Socket.io message refused: its session_id is not the one of its connection.")
                return
            metadata = data.get(self.metadata_key)
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = None
            text, info = guard.prepare(data.get("message"))
            metadata = guard.clean_metadata(metadata, info)
            if info:
                logger.info("Conversation %s: input changed before the NLU: %s", guard.conversation_tag(sender_id), info)
            message = UserMessage(text, output_channel, sender_id, input_channel=self.name(),
                                  metadata=guard.with_guard_info(metadata, info))
            if await self.guard.over_rate(message, self._addresses.get(sid, "")):
                return
            # Replies go to the room of the session (or of the socket): every tab of the session sees them.
            await self.guard.deliver(on_new_message, message, self._app)

        return socketio_webhook
