"""Local stand-ins for the Telegram Bot API and the Slack Web API, for the channel tests.

Each mock is an aiohttp server on a free localhost port, run in a thread of its own by the test
process, that records every call (`calls`) and answers in the real API's format. They enforce the
limits the connectors must respect, so a test that passes against them means the real API would
have accepted the same requests:

- Telegram (`TelegramApiMock`, methods getMe, setWebhook, sendMessage, answerCallbackQuery):
  the bot token in the URL; sendMessage text 1–4096 characters after entity parsing (UTF-16
  code units), HTML parse mode markup checked as Telegram does (only its tags, properly nested,
  `<`, `>`, `&` escaped outside tags), inline keyboard buttons with 1–64 bytes of callback data;
  setWebhook with an https URL and a well-formed secret token.
- Slack (`SlackApiMock`, method chat.postMessage): the bearer token; a channel; text or blocks;
  no `as_user` (refused from current apps' bot tokens); at most 50 blocks; section text 1–3000
  characters; actions blocks of 1–25 buttons with a 1–75-character plain_text title, a value of
  at most 2000 characters and action ids unique in the message.

Refused calls are recorded too (`ok` False, with the API's error), so a test can check that none
happened.
"""

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from aiohttp import web

from tests.servers import ROOT, Servers, environment, free_port

# Every variable scripts/credentials.py reads: set empty ("off") unless a test sets it, so that a
# developer's own TELEGRAM_*/SLACK_* never reach the tests.
CHANNEL_VARIABLES = ("TELEGRAM_ACCESS_TOKEN", "TELEGRAM_VERIFY", "TELEGRAM_WEBHOOK_URL", "TELEGRAM_SECRET_TOKEN",
                     "TELEGRAM_API_SERVER", "SLACK_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CHANNEL", "SLACK_API_URL")


def run_credentials_script(out: Path, **variables: str) -> subprocess.CompletedProcess:
    """Runs scripts/credentials.py with only the given channel variables set."""
    env = environment(**{name: "" for name in CHANNEL_VARIABLES})
    env.update(variables)
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "credentials.py"), "--out", str(out)],
                          env=env, capture_output=True, text=True)


def paragraph(n: int, length: int) -> str:
    """A paragraph of about `length` characters with every kind of markup and escaping, numbered `n.`."""
    words = itertools.cycle(["**Skywin**", "R&D", "<aero>", "https://www.skywin.be", "_composites_", "café", "😀"])
    text = f"{n}."
    while len(text) < length:
        text += " " + next(words)
    return text

# --- recording server ------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    params: Dict[str, Any]
    ok: bool
    error: Optional[str] = None
    result: Any = None
    at: float = field(default_factory=time.monotonic)


class ApiMock:
    """An aiohttp application on 127.0.0.1:<free port>, served from a background thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.calls: List[Call] = []
        self._condition = threading.Condition()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def start(self) -> "ApiMock":
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            self.routes(app)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def record(self, call: Call) -> None:
        with self._condition:
            self.calls.append(call)
            self._condition.notify_all()

    def calls_since(self, mark: int, method: Optional[str] = None) -> List[Call]:
        with self._condition:
            return [c for c in self.calls[mark:] if method is None or c.method == method]

    def mark(self) -> int:
        with self._condition:
            return len(self.calls)

    def wait_for(self, predicate: Callable[[List[Call]], bool], mark: int = 0, timeout: float = 60) -> List[Call]:
        """The calls since `mark`, once `predicate(calls)` holds; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                calls = self.calls[mark:]
                if predicate(calls):
                    return list(calls)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout} s; calls so far: {calls}")
                self._condition.wait(remaining)


async def _params(request: web.Request) -> Dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.text()
        return json.loads(body) if body else {}
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return {key: value for key, value in (await request.post()).items()}
    return dict(request.query)


# --- Telegram --------------------------------------------------------------------------------

TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                 "span", "tg-spoiler", "tg-emoji", "blockquote"}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+\s*=\s*\"[^\"<>]*\")*)\s*>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_ENTITY_TEXT = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class TelegramError(ValueError):
    pass


def parse_telegram_html(text: str) -> str:
    """The visible text of an HTML parse-mode message; TelegramError as Telegram would refuse it."""
    out: List[str] = []
    stack: List[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = _TAG.match(text, position)
            if not match:
                raise TelegramError(f"Can't parse entities: unexpected '<' at byte offset {position}")
            closing, tag, attributes = match.group(1), match.group(2).lower(), match.group(3)
            if tag not in TELEGRAM_TAGS:
                raise TelegramError(f'Can\'t parse entities: unsupported start tag "{tag}" at byte offset {position}')
            if closing:
                if not stack or stack[-1] != tag:
                    raise TelegramError(f'Can\'t parse entities: can\'t find end tag corresponding to start tag "{stack[-1] if stack else tag}"')
                stack.pop()
            else:
                if tag == "a" and "href=" not in attributes:
                    raise TelegramError("Can't parse entities: a tag without href")
                stack.append(tag)
            position = match.end()
        elif char == "&":
            match = _ENTITY.match(text, position)
            if not match:
                raise TelegramError(f"Can't parse entities: unescaped '&' at byte offset {position}")
            name = match.group(1)
            out.append(_ENTITY_TEXT.get(name) or chr(int(name[2:], 16) if name.startswith("#x") else int(name[1:])))
            position = match.end()
        elif char == ">":
            raise TelegramError(f"Can't parse entities: unescaped '>' at byte offset {position}")
        else:
            out.append(char)
            position += 1
    if stack:
        raise TelegramError(f'Can\'t parse entities: can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_inline_keyboard(markup: Dict[str, Any]) -> None:
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise TelegramError("Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays")
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise TelegramError("Bad Request: text buttons are unallowed in the inline keyboard")
            kinds = [k for k in ("url", "callback_data", "switch_inline_query", "login_url", "web_app") if k in button]
            if len(kinds) != 1:
                raise TelegramError("Bad Request: can't parse inline keyboard button: exactly one optional field must be used")
            if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode("utf-8")) <= 64:
                raise TelegramError("Bad Request: BUTTON_DATA_INVALID")


class TelegramApiMock(ApiMock):
    """The Bot API methods the connector uses; see the module's docstring."""

    def __init__(self, token: str, username: str) -> None:
        super().__init__()
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":")[0])
        self._message_id = 1000

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self.handle)

    def bot_user(self) -> Dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Wallonia clusters", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        if request.match_info["token"] != self.token:
            return self._answer(method, params, 401, "Unauthorized")
        handler = getattr(self, "api_" + method, None)
        if handler is None:
            return self._answer(method, params, 404, "Not Found")
        try:
            result = handler(params)
        except TelegramError as error:
            description = str(error) if str(error).startswith("Bad Request") else f"Bad Request: {error}"
            return self._answer(method, params, 400, description)
        self.record(Call(method, params, True, result=result))
        return web.json_response({"ok": True, "result": result})

    def _answer(self, method: str, params: Dict[str, Any], status: int, description: str) -> web.Response:
        self.record(Call(method, params, False, error=description))
        return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)

    def api_getMe(self, params: Dict[str, Any]) -> Dict[str, Any]:
        return self.bot_user()

    def api_setWebhook(self, params: Dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise TelegramError("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise TelegramError("Bad Request: secret token contains unallowed characters")
        return True

    def api_sendMessage(self, params: Dict[str, Any]) -> Dict[str, Any]:
        if not str(params.get("chat_id", "")).lstrip("-").isdigit():
            raise TelegramError("Bad Request: chat not found")
        text = str(params.get("text", ""))
        parse_mode = params.get("parse_mode")
        if parse_mode not in (None, "HTML"):
            raise TelegramError(f"Bad Request: unsupported parse_mode {parse_mode} in this mock")
        visible = parse_telegram_html(text) if parse_mode == "HTML" else text
        if not visible.strip():
            raise TelegramError("Bad Request: message text is empty")
        if utf16_length(visible) > 4096:
            raise TelegramError("Bad Request: message is too long")
        if params.get("reply_markup"):
            check_inline_keyboard(json.loads(params["reply_markup"]))
        self._message_id += 1
        return {"message_id": self._message_id, "from": self.bot_user(), "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": visible}

    def api_answerCallbackQuery(self, params: Dict[str, Any]) -> bool:
        if not params.get("callback_query_id"):
            raise TelegramError("Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise TelegramError("Bad Request: MESSAGE_TOO_LONG")
        return True

    # helpers for the tests

    def sent_messages(self, mark: int = 0) -> List[Dict[str, Any]]:
        return [c.params for c in self.calls_since(mark, "sendMessage") if c.ok]

    def refused(self, mark: int = 0) -> List[Call]:
        return [c for c in self.calls_since(mark) if not c.ok]


def keyboard_of(params: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The inline keyboard buttons of a sendMessage, in order."""
    if not params.get("reply_markup"):
        return []
    return [button for row in json.loads(params["reply_markup"])["inline_keyboard"] for button in row]


# --- Slack -----------------------------------------------------------------------------------


class SlackError(ValueError):
    pass


def check_blocks(blocks: List[Dict[str, Any]]) -> None:
    """Raises SlackError as Slack answers `invalid_blocks`."""
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= 50:
        raise SlackError("invalid_blocks: a message takes 1 to 50 blocks")
    action_ids = set()
    for block in blocks:
        kind = block.get("type")
        if kind == "section":
            text = block.get("text") or {}
            if text.get("type") not in ("mrkdwn", "plain_text") or not 1 <= len(text.get("text", "")) <= 3000:
                raise SlackError("invalid_blocks: section text must be 1-3000 characters of mrkdwn or plain_text")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= 25:
                raise SlackError("invalid_blocks: an actions block takes 1 to 25 elements")
            for element in elements:
                if element.get("type") != "button":
                    raise SlackError(f"invalid_blocks: element type {element.get('type')} not supported by this mock")
                title = element.get("text") or {}
                if title.get("type") != "plain_text" or not 1 <= len(title.get("text", "")) <= 75:
                    raise SlackError("invalid_blocks: button text must be 1-75 characters of plain_text")
                if len(element.get("value", "")) > 2000 or len(element.get("action_id", "")) > 255:
                    raise SlackError("invalid_blocks: button value or action_id too long")
                action_id = element.get("action_id")
                if action_id in action_ids:
                    raise SlackError("invalid_blocks: action_id values must be unique in a message")
                if action_id:
                    action_ids.add(action_id)
        elif kind not in ("divider", "context", "header", "image"):
            raise SlackError(f"invalid_blocks: unknown block type {kind}")


class SlackApiMock(ApiMock):
    """chat.postMessage as Slack's Web API answers it; see the module's docstring."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self._ts = 1700000000.000100

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/{method}", self.handle)

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._answer(method, params, "invalid_auth")
        if method != "chat.postMessage":
            return self._answer(method, params, "unknown_method")
        try:
            result = self.post_message(params)
        except SlackError as error:
            return self._answer(method, params, str(error))
        self.record(Call(method, params, True, result=result))
        return web.json_response({"ok": True, **result})

    def _answer(self, method: str, params: Dict[str, Any], error: str) -> web.Response:
        self.record(Call(method, params, False, error=error))
        return web.json_response({"ok": False, "error": error.split(":")[0]})

    def post_message(self, params: Dict[str, Any]) -> Dict[str, Any]:
        if not params.get("channel"):
            raise SlackError("channel_not_found")
        if "as_user" in params:
            raise SlackError("invalid_arguments: as_user is not accepted from a bot token")
        blocks = params.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not params.get("text") and not blocks:
            raise SlackError("no_text")
        if len(params.get("text") or "") > 40000:
            raise SlackError("msg_too_long")
        if blocks is not None:
            check_blocks(blocks)
        self._ts += 1
        ts = f"{self._ts:.6f}"
        return {"channel": params["channel"], "ts": ts,
                "message": {"type": "message", "text": params.get("text", ""), "ts": ts, "bot_id": "B0MOCK"}}

    def posts(self, mark: int = 0) -> List[Dict[str, Any]]:
        return [c.params for c in self.calls_since(mark, "chat.postMessage") if c.ok]

    def refused(self, mark: int = 0) -> List[Call]:
        return [c for c in self.calls_since(mark) if not c.ok]


def buttons_of(post: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [e for b in post.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def section_texts(post: Dict[str, Any]) -> str:
    sections = [b["text"]["text"] for b in post.get("blocks") or [] if b["type"] == "section"]
    return "\n\n".join(sections) if sections else post.get("text", "")


def sign_slack(secret: str, body: bytes, timestamp: Optional[int] = None) -> Tuple[str, str]:
    """(X-Slack-Request-Timestamp, X-Slack-Signature) as Slack computes them."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return stamp, f"v0={digest}"


@contextmanager
def assistant_with_channel(workdir: Path, api: Any, **variables: str) -> Iterator[Servers]:
    """The action server and a Rasa server whose credentials carry the channel that `variables`
    switch on (the other channels' variables unset), talking to the mock `api`; all stopped after."""
    env = {name: "" for name in CHANNEL_VARIABLES}
    env.update(variables)
    servers = Servers(workdir, extra_env=env)  # the guarded channels plus the one `variables` switch on
    try:
        servers.start_actions()
        servers.start_rasa()
        yield servers
    finally:
        servers.stop()
        api.stop()
