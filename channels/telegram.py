"""Telegram connector: Rasa 3.6.21's, fixed and hardened. Plugged in by module path in the
credentials (`channels.telegram.SecureTelegramInput:`; `scripts/credentials.py` writes it).

What it changes from `rasa.core.channels.telegram.TelegramInput`:

- Start-up: the bot's name is checked (`verify`) and the webhook registered once, on a loop of
  its own, and the aiohttp session that opened is closed and dropped afterwards, so the first
  real update opens a new one on the server's loop (stock Rasa fails it with "Event loop is
  closed").
- The webhook is registered with Telegram's `secret_token`; an update without the matching
  `X-Telegram-Bot-Api-Secret-Token` header is refused with 403 and never reaches the bot.
- Texts are sent with `parse_mode=HTML` (`**bold**`, `_italic_`, links converted and `<`, `>`,
  `&` escaped, see `channels.formatting`), in as few messages as fit Telegram's 4096-character
  limit, cut at paragraph boundaries.
- Buttons are an inline keyboard, one button a row; their payloads are fitted to the 64-byte
  callback data (`channels.callback_data`) and a button press is answered
  (`answerCallbackQuery`) and turned back into the exact payload.
- `/start` (also `/start@bot`, `/start <deep-link>`) becomes `/greet`; `@bot` suffixes of other
  commands are dropped.
- Texts and button payloads go through the web channels' guard (`channels.guard.prepare`): a
  typed `/intent{…}` is passed on only when it is one of the bot's own buttons; of the metadata
  only the user's language is kept. An update delivered again (same `update_id`) is handled once.
- A failing update is logged and answered 200, so Telegram does not redeliver it in a loop.

Credentials (all strings): access_token, verify (the bot's username), webhook_url,
secret_token; optional api_server (a Bot API base URL, e.g. a local mock) and callback_store
(the SQLite file of `channels.callback_data`).
"""

import asyncio
import hmac
import json
import logging
import re
import threading
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from aiogram.bot.api import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramInput, TelegramOutput
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.constants import USER_INTENT_RESTART
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.buttons import CONTRACT
from channels import guard
from channels.callback_data import CallbackCodec
from channels.formatting import split_message, to_telegram_html, utf16_length

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096  # characters of a sendMessage text (UTF-16 code units after parsing)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_TOKEN_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
GREET_PAYLOAD = CONTRACT.opening  # /start opens a conversation as the web page does
# What the connector itself makes of the /start and /restart commands: passed on unguarded.
CONNECTOR_PAYLOADS = {GREET_PAYLOAD, INTENT_MESSAGE_PREFIX + USER_INTENT_RESTART}
EXPIRED_BUTTON = "This button has expired: please ask again."
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
_COMMAND = re.compile(r"^/(?P<command>[A-Za-z0-9_]+)(?:@(?P<bot>[A-Za-z0-9_]+))?(?P<rest>(?:\s.*)?)$", re.DOTALL)


def _run_in_own_loop(coroutine: Awaitable[Any]) -> Any:
    """Runs a coroutine to completion on a fresh event loop in a thread of its own, so that it
    works whether or not the calling thread already runs a loop, and leaves that loop alone."""
    result: Dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the caller's thread
            result["error"] = error

    thread = threading.Thread(target=target, name="telegram-start-up")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


class SecureTelegramOutput(TelegramOutput):
    """Sends HTML-formatted, split texts and inline keyboards with fitted callback data."""

    def __init__(self, access_token: Optional[Text], api_server: Optional[Text] = None,
                 codec: Optional[CallbackCodec] = None) -> None:
        super().__init__(access_token)
        if api_server:
            self.server = TelegramAPIServer.from_base(api_server.rstrip("/"))
        self.codec = codec or CallbackCodec()

    async def drop_session(self) -> None:
        """Closes the cached aiohttp session (on the loop that opened it) and forgets it, so the
        next request opens a new one on whichever loop is running then."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def _send_chunks(self, recipient_id: Text, text: Text,
                           reply_markup: Optional[InlineKeyboardMarkup] = None) -> None:
        chunks = split_message(text or "", MESSAGE_LIMIT, to_telegram_html, utf16_length)
        if not chunks and reply_markup is not None:
            chunks = ["⬇️"]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            await self.send_message(recipient_id, chunk, parse_mode="HTML", disable_web_page_preview=True,
                                    reply_markup=reply_markup if last else None)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_chunks(recipient_id, text)

    def keyboard(self, buttons: List[Dict[Text, Any]]) -> InlineKeyboardMarkup:
        markup = InlineKeyboardMarkup()
        for button in buttons:
            title = str(button.get("title") or button.get("payload") or "?")
            if button.get("url"):
                markup.row(InlineKeyboardButton(title, url=button["url"]))
            else:
                markup.row(InlineKeyboardButton(title, callback_data=self.codec.encode(str(button.get("payload") or title))))
        return markup

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        await self._send_chunks(recipient_id, text, self.keyboard(buttons))


class SecureTelegramInput(TelegramInput):
    """Telegram webhook that checks the secret token; see the module's docstring."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        missing = [key for key in ("access_token", "verify", "webhook_url", "secret_token") if not credentials.get(key)]
        if missing:
            raise RasaException(f"Telegram channel: missing credentials {', '.join(missing)} (see docs/channels.md).")
        return cls(
            str(credentials["access_token"]),
            str(credentials["verify"]),
            str(credentials["webhook_url"]),
            secret_token=str(credentials["secret_token"]),
            api_server=credentials.get("api_server") or None,
            callback_store=credentials.get("callback_store") or None,
        )

    def __init__(self, access_token: Optional[Text], verify: Optional[Text], webhook_url: Optional[Text],
                 debug_mode: bool = False, secret_token: Text = "", api_server: Optional[Text] = None,
                 callback_store: Optional[Text] = None) -> None:
        super().__init__(access_token, (verify or "").lstrip("@"), webhook_url, debug_mode=debug_mode)
        if not SECRET_TOKEN_FORMAT.match(secret_token or ""):
            raise RasaException("Telegram channel: secret_token must be 1–256 characters of A–Z, a–z, 0–9, _ and -.")
        self.secret_token = secret_token
        self.api_server = api_server
        self.codec = CallbackCodec(callback_store)
        self.deliveries = guard.Deliveries()
        self._registered = False

    def get_output_channel(self) -> SecureTelegramOutput:
        """An output channel; the first call also checks the bot and registers the webhook."""
        channel = SecureTelegramOutput(self.access_token, self.api_server, self.codec)
        if not self._registered:
            try:
                _run_in_own_loop(self._register(channel))
            except TelegramAPIError as error:
                raise RasaException(f"Failed to set the Telegram webhook: {error}") from error
            self._registered = True
        return channel

    async def _register(self, channel: SecureTelegramOutput) -> None:
        try:
            me = await channel.get_me()
            if (me.username or "").lower() != (self.verify or "").lower():
                raise RasaException(
                    f"Telegram channel: the token belongs to @{me.username}, not @{self.verify} (TELEGRAM_VERIFY)."
                )
            await channel.request("setWebhook", {
                "url": self.webhook_url,
                "secret_token": self.secret_token,
                "allowed_updates": json.dumps(ALLOWED_UPDATES),
            })
            logger.info("Telegram webhook set to %s for @%s.", self.webhook_url, me.username)
        finally:
            await channel.drop_session()

    def _is_authentic(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode("utf-8"), self.secret_token.encode("utf-8"))

    def _command_text(self, text: Text) -> Optional[Text]:
        """The text to hand to Rasa, with /start as /greet; None for a command to another bot."""
        match = _COMMAND.match(text.strip())
        if not match:
            return text
        bot = match.group("bot")
        if bot and bot.lower() != (self.verify or "").lower():
            return None
        if match.group("command") == "start":
            return GREET_PAYLOAD
        return "/" + match.group("command") + match.group("rest")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram_webhook = Blueprint("telegram_webhook", __name__)
        out_channel = self.get_output_channel()

        @telegram_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @telegram_webhook.listener("after_server_stop")
        async def close_session(*_: Any) -> None:
            await out_channel.drop_session()

        @telegram_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self._is_authentic(request):
                logger.warning("Telegram update refused: missing or wrong %s header.", SECRET_HEADER)
                return response.text("forbidden", status=403)
            try:
                update = Update(**request.json)
            except Exception:  # not JSON, or not an update
                return response.text("bad request", status=400)

            if not self.deliveries.first(update.update_id):
                logger.info("Telegram update received again: handled once.")
                return response.text("success")

            texts: List[Text] = []
            if update.callback_query:
                query = update.callback_query
                message = query.message
                payload = self.codec.decode(query.data or "")
                try:
                    await out_channel.answer_callback_query(query.id, text=None if payload else EXPIRED_BUTTON)
                except TelegramAPIError as error:  # e.g. "query is too old": the press still counts
                    logger.info("answerCallbackQuery failed: %s", error)
                if payload:
                    texts = [payload]
            else:
                message = update.message or update.edited_message
                if message is not None and message.text:
                    text = self._command_text(message.text)
                    if text == INTENT_MESSAGE_PREFIX + USER_INTENT_RESTART:
                        texts = [text, GREET_PAYLOAD]
                    elif text:
                        texts = [text]
                elif message is not None and message.location:
                    texts = ['{{"lng":{0}, "lat":{1}}}'.format(message.location.longitude, message.location.latitude)]
            if message is None or not texts:
                return response.text("success")

            user = update.callback_query.from_user if update.callback_query else message.from_user
            language_code = getattr(user, "language_code", None)
            # "language" is what the web page sends too: the language to use until the user's own
            # words say otherwise (a French user's /start is greeted in French).
            try:
                for text in texts:
                    # the connector's own commands as they are; anything else through the web channels' guard
                    text, info = (text, {}) if text in CONNECTOR_PAYLOADS else guard.prepare(text)
                    metadata = guard.with_guard_info(guard.clean_metadata({"language": language_code}, info), info)
                    await on_new_message(UserMessage(text, out_channel, str(message.chat.id),
                                                     input_channel=self.name(), metadata=metadata))
            except Exception as error:
                logger.error("Telegram update %s failed: %s", update.update_id, error, exc_info=True)
                if self.debug_mode:
                    raise
            return response.text("success")

        return telegram_webhook
