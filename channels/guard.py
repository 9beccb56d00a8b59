"""What the web channels (`channels.rest`, `channels.socketio`) do around Rasa's handling of every
message: the input is cleaned before the NLU sees it, the messages of one conversation are handed
to Rasa one at a time, in order, and every message gets at least one answer.

Input (`prepare`):
- control characters (C0/C1, including NUL, which PostgreSQL refuses to store), terminal escape
  sequences, bidirectional overrides, lone surrogates and byte-order marks are removed; runs of
  white space become one space; the text is NFC-normalised;
- HTML/XML tags are removed (`<script>alert(1)</script>` → `alert(1)`), and Markdown links and
  images are reduced to their label, so that no answer that quotes the user (e.g. "I don't know a
  cluster called “…”") can carry markup or a link the user typed;
- "words" longer than 64 characters are dropped (a run of 20 000 x's was classified as a question
  about the sixth cluster: "x" is in "sixth");
- the text is cut to INPUT_MAX_CHARS characters (default 2000) before the NLU sees it;
- a hand-typed `/intent{...}` is passed on only when it is one the bot's own buttons send, with
  the entities and values they carry (`actions.buttons`); anything else starting with "/" loses
  its slashes and is read as text by the NLU: `/inform_goal{"language": "fr"}` sets no slot, and
  `/restart` is the word "restart" (which the NLU may well take for "start over");
- an empty message (or one that is empty once cleaned) becomes `/help`: the tour of what the bot
  answers, in the conversation's language.
Metadata (`clean_metadata`): only the language is kept, as a string of at most 16 characters;
every other key (and a client's own `input_guard`, `model_id` or `assistant_id`) is dropped.
What was changed is recorded in the message's metadata (`input_guard`, stored with the user event):
e.g. `{"received_chars": 20000, "truncated_to": 2000}`.

Turns (`SenderTurns`): the messages of one sender wait for each other in an asyncio lock (FIFO) in
this process before entering Rasa's lock store, so a burst of messages is handled in order and
back to back. (Rasa's own lock only lets a waiting message poll about once a second, and its
tickets expire after 60 s: 20 messages sent at once took 19 s here, against 1–2 s this way.) At most
MAX_PENDING_PER_SENDER (default 50) messages of one sender wait; more are answered at once with a
"please wait for my answers" message. Before that, the rate limits (`channels.rate_limit`, whose
docstring says how the two relate) refuse a message over its sender's or its address's rate.

Answers (`MessageGuard.deliver`): if handling a message produced no bot message at all — the action
server down (Rasa logs "Bot will continue…" and says nothing), hanging past the timeout, the lock
store failing — the user is told the service is temporarily unavailable and asked to retry, in the
conversation's language (the `language` slot, else the web page's `metadata.language`), else in
English and French.

Action server timeout (`configure_action_server_timeout`): see the function.
"""

import asyncio
import hashlib
import logging
import os
import re
import unicodedata
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Mapping, Optional, Text

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.lock_store import LockError

from actions.buttons import CONTRACT
from actions.render import say
from channels.rate_limit import RateLimits
from stores.probes import TrackerStoreDown

logger = logging.getLogger(__name__)

LANGUAGES = ("en", "fr")
DEFAULT_INPUT_MAX_CHARS = 2000
DEFAULT_MAX_PENDING_PER_SENDER = 50
DEFAULT_ACTION_SERVER_TIMEOUT = 5.0
MAX_WORD_CHARS = 64  # longer "words" (xxxx…, base64, long links) are dropped: they only confuse the NLU
MAX_SENDER_CHARS = 128  # Rasa's SQL tracker store keeps sender ids in a VARCHAR(255)
MAX_REQUEST_BYTES = 1024 * 1024  # Sanic answers 413 to a larger request before reading its body
MAX_MESSAGE_BYTES = 256 * 1024  # a REST body, a socket.io payload: a chat message is far smaller
MAX_LANGUAGE_CHARS = 16  # "fr", "en-GB", "fr-BE": a language tag, nothing longer
EMPTY_MESSAGE_PAYLOAD = "/help"
# Keys of a bot message that make it something the user sees (rasa.core.channels.channel.OutputChannel.send_response).
_CONTENT_KEYS = ("text", "buttons", "quick_replies", "custom", "image", "attachment", "elements")

_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_TAG = re.compile(r"</?[A-Za-z!?][^<>]{0,1000}>")
_MARKDOWN_LINK = re.compile(r"!?\[([^\[\]]{0,500})\]\((?:[^()]|\([^()]{0,500}\)){0,1000}\)")
# Bidirectional embeddings, overrides and isolates (not the marks LRM/RLM), and the BOM.
_INVISIBLE = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF])


def _positive_number(environ: Mapping[str, str], name: str, default: float) -> float:
    value = (environ.get(name) or "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds or characters, not {value!r}") from None
    if number <= 0:
        raise ValueError(f"{name} must be positive, not {value!r}")
    return number


def limit_request_size(app: Any) -> None:
    """Sanic buffers a request body up to its REQUEST_MAX_SIZE (100 MB by default) before any
    handler sees it; the web channels' own limit (MAX_MESSAGE_BYTES) came only after that. Set from
    the channels' `before_server_start` listeners: Sanic reads it for each new connection."""
    app.config.REQUEST_MAX_SIZE = min(app.config.REQUEST_MAX_SIZE, MAX_REQUEST_BYTES)


def input_max_chars(environ: Mapping[str, str] = os.environ) -> int:
    return int(_positive_number(environ, "INPUT_MAX_CHARS", DEFAULT_INPUT_MAX_CHARS))


def configure_action_server_timeout(environ: Mapping[str, str] = os.environ) -> float:
    """Makes Rasa wait at most ACTION_SERVER_TIMEOUT seconds (default 5) for the action server,
    instead of 300.

    Rasa 3.6 has no setting for it: `RemoteAction.run` (rasa/core/actions/action.py) passes
    `timeout=DEFAULT_REQUEST_TIMEOUT` to every call of the action server, a name that module
    imports from rasa/core/constants.py (60 * 5) and looks up at each call. `timeout:` in the
    action_endpoint of endpoints.yml is stored by EndpointConfig but never passed on, the
    `--request-timeout` flag is Sanic's, and the action endpoint cannot be replaced by a class of
    ours (unlike the tracker store, lock store or channels). So the one hook is that module-level
    name, set here from a module Rasa imports at start: this one, through the channels named in
    the credentials file. It covers every custom action, the form validation and the `language`
    slot's custom mapping (action_detect_language, run on every message).
    """
    import rasa.core.actions.action as rasa_action

    seconds = _positive_number(environ, "ACTION_SERVER_TIMEOUT", DEFAULT_ACTION_SERVER_TIMEOUT)
    if rasa_action.DEFAULT_REQUEST_TIMEOUT != seconds:
        rasa_action.DEFAULT_REQUEST_TIMEOUT = seconds
        logger.info("Custom actions: Rasa waits at most %s s for the action server (ACTION_SERVER_TIMEOUT).", seconds)
    return seconds


# --- input ---------------------------------------------------------------------------------------


def clean_text(raw: str, limit: int) -> "tuple[str, Dict[str, Any]]":
    """The text as the NLU should see it, and what was changed (empty when nothing was)."""
    info: Dict[str, Any] = {}
    start = text = raw[: limit * 4]  # bounds the work below; the exact cut comes last
    text = _ANSI_ESCAPE.sub(" ", text)
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)  # NUL, ESC, DEL, C1, ...
    text = text.translate(_INVISIBLE)
    text = text.encode("utf-8", "ignore").decode("utf-8")  # drops lone surrogates (unstorable)
    if text != start:
        info["control_removed"] = True
    text = unicodedata.normalize("NFC", text)
    without_markup = _MARKDOWN_LINK.sub(lambda m: f" {m.group(1)} ", _TAG.sub(" ", text))
    if without_markup != text:
        info["markup_removed"] = True
        text = without_markup
    words = text.split()
    if any(len(word) > MAX_WORD_CHARS for word in words):  # no word of a question is that long
        info["long_words_removed"] = sum(len(word) > MAX_WORD_CHARS for word in words)
        words = [word for word in words if len(word) <= MAX_WORD_CHARS]
    text = " ".join(words)
    if len(text) > limit:
        text = text[:limit].rstrip()
        info["truncated_to"] = limit
    if info or len(raw) > limit:
        info["received_chars"] = len(raw)
    return text, info


def prepare(raw: Any, limit: Optional[int] = None) -> "tuple[str, Dict[str, Any]]":
    """The text to hand to Rasa for a message, and what was changed (see the module's docstring)."""
    limit = limit or input_max_chars()
    text, info = clean_text(raw if isinstance(raw, str) else "", limit)
    if text.startswith("/"):
        payload = CONTRACT.accept(text)
        if payload is not None:
            return payload, info
        info["payload_refused"] = True
        text = text.lstrip("/ ")
    if not text:
        info["empty"] = True
        return EMPTY_MESSAGE_PAYLOAD, info
    return text, info


def clean_sender(value: Any) -> Optional[str]:
    """The conversation id, or None when it is missing or unusable (no shared "default" one)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    sender = str(value).strip()
    if not sender or len(sender) > MAX_SENDER_CHARS or not sender.isprintable():
        return None
    return sender


def conversation_tag(sender_id: Any) -> str:
    """How logs name a conversation: a hash of its id, never the id itself (it is the
    conversation's only credential, docs/security.md)."""
    return "c-" + hashlib.sha256(str(sender_id).encode("utf-8", "surrogatepass")).hexdigest()[:12]


def clean_metadata(metadata: Any, info: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """What is kept of the metadata a client sent: only what the assistant reads, the page's
    language as a short string (Rasa stores a message's metadata, twice, with every message).
    Anything else dropped is noted in `info`."""
    if not isinstance(metadata, dict) or not metadata:
        return None
    language = metadata.get("language")
    kept = {"language": language.strip()} if isinstance(language, str) and language.strip() \
        and len(language.strip()) <= MAX_LANGUAGE_CHARS and language.strip().isprintable() else {}
    if len(kept) != len(metadata):
        info["metadata_dropped"] = True
    return kept or None


def with_guard_info(metadata: Optional[Dict[str, Any]], info: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    if not info:
        return metadata
    return {**(metadata or {}), "input_guard": info}


class Deliveries:
    """The ids of the deliveries already received (Telegram's update_id, Slack's event_id): the
    platforms send an update again when our answer was slow or lost, and it must be handled once.
    The most recent `size` ids, in this process's memory."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._seen: "OrderedDict[Any, None]" = OrderedDict()

    def first(self, delivery_id: Any) -> bool:
        """Whether this is the first time `delivery_id` arrives (and remembers it)."""
        if delivery_id in self._seen:
            self._seen.move_to_end(delivery_id)
            return False
        self._seen[delivery_id] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True


# --- answers -------------------------------------------------------------------------------------


def _in_language(key: str, language: Optional[str]) -> str:
    if language in LANGUAGES:
        return say(key, language)
    return "\n\n".join(say(key, lang) for lang in LANGUAGES)


def unavailable_text(language: Optional[str]) -> str:
    return _in_language("service_unavailable", language)


def busy_text(language: Optional[str]) -> str:
    return _in_language("too_many_messages", language)


def slow_down_text(language: Optional[str]) -> str:
    return _in_language("slow_down", language)


async def conversation_language(app: Any, sender_id: Text, metadata: Optional[Dict[str, Any]]) -> Optional[str]:
    """The conversation's `language` slot when the tracker store knows it, else the web page's."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is not None:
        try:
            tracker = await asyncio.wait_for(store.retrieve(sender_id), timeout=2)
            language = tracker.get_slot("language") if tracker else None
            if language in LANGUAGES:
                return language
        except Exception as error:  # the answer must still go out
            logger.info("Could not read the language of conversation %s: %s", conversation_tag(sender_id), error)
    language = metadata.get("language") if isinstance(metadata, dict) else None
    return language if language in LANGUAGES else None


class CountingOutputChannel(OutputChannel):
    """Passes every bot message on to the channel's own output, counting those with content."""

    def __init__(self, inner: OutputChannel) -> None:
        self.inner = inner
        self.sent = 0

    def name(self) -> Text:  # type: ignore[override]  # responses may have channel-specific variants
        return self.inner.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        if any(message.get(key) for key in _CONTENT_KEYS):
            self.sent += 1
        await self.inner.send_response(recipient_id, message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class SenderBusy(Exception):
    pass


@dataclass
class SenderTurns:
    """One message of a sender at a time, in the order they arrived (asyncio.Lock is FIFO)."""

    max_pending: int = DEFAULT_MAX_PENDING_PER_SENDER
    _locks: Dict[str, asyncio.Lock] = field(default_factory=dict)
    _pending: Dict[str, int] = field(default_factory=dict)

    def pending(self, sender_id: str) -> int:
        return self._pending.get(sender_id, 0)

    @asynccontextmanager
    async def turn(self, sender_id: str) -> AsyncIterator[None]:
        if self.pending(sender_id) >= self.max_pending:
            raise SenderBusy(sender_id)
        self._pending[sender_id] = self.pending(sender_id) + 1
        lock = self._locks.setdefault(sender_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            self._pending[sender_id] -= 1
            if not self._pending[sender_id]:  # nobody holds or waits for the lock any more
                del self._pending[sender_id]
                self._locks.pop(sender_id, None)


class MessageGuard:
    """Hands a message to Rasa in its sender's turn and makes sure it gets an answer."""

    def __init__(self, max_pending: Optional[int] = None) -> None:
        if max_pending is None:
            max_pending = int(_positive_number(os.environ, "MAX_PENDING_PER_SENDER", DEFAULT_MAX_PENDING_PER_SENDER))
        self.turns = SenderTurns(max_pending)
        self.limits = RateLimits()

    async def over_rate(self, message: UserMessage, address: str) -> bool:
        """Whether `message` is over the rate limits (channels.rate_limit); if so it is answered
        with "slow down", in the page's language, without reading its conversation."""
        if await self.limits.admit_message(message.sender_id, address):
            return False
        logger.info("Conversation %s: over the rate limits; answered with 'slow down'.", conversation_tag(message.sender_id))
        language = message.metadata.get("language") if isinstance(message.metadata, dict) else None
        await message.output_channel.send_text_message(message.sender_id, slow_down_text(language))
        return True

    async def deliver(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage,
                      app: Any = None) -> None:
        counter = CountingOutputChannel(message.output_channel)
        message.output_channel = counter
        busy = unstored = explained = False  # explained: why there is no answer is logged already
        try:
            async with self.turns.turn(message.sender_id):
                await on_new_message(message)
        except SenderBusy:
            busy = explained = True
            logger.warning("Conversation %s: more than %d messages waiting; one answered with 'please wait'.",
                           conversation_tag(message.sender_id), self.turns.max_pending)
        except asyncio.CancelledError:
            raise
        except LockError as error:  # Redis down or frozen (stores/redis_lock_store.py): not handled
            explained = True
            logger.warning("Conversation %s: not handled, no lock (%s); the user is asked to retry.",
                           conversation_tag(message.sender_id), error)
        except TrackerStoreDown as error:
            unstored = explained = True
            logger.warning("Conversation %s: not handled, the tracker store is down (%s); the user is asked to retry.",
                           conversation_tag(message.sender_id), error)
        except Exception:
            explained = True
            logger.exception("Conversation %s: the message could not be handled.", conversation_tag(message.sender_id))
        if unstored and counter.sent and isinstance(getattr(counter.inner, "messages", None), list):
            # Answered but not stored (the database went down during the turn): an answer not sent
            # yet (REST) is withdrawn for "please retry", so that what the user saw and what the
            # conversation holds stay the same.
            counter.inner.messages.clear()
            counter.sent = 0
        if counter.sent and not unstored:
            return
        if not explained:
            logger.warning("Conversation %s: no answer came out of Rasa (action server down or too slow?); "
                           "the user is told the service is temporarily unavailable.", conversation_tag(message.sender_id))
        language = await conversation_language(app, message.sender_id, message.metadata)
        await counter.inner.send_text_message(message.sender_id, busy_text(language) if busy else unavailable_text(language))
