"""Slack connector: Rasa 3.6.21's `SlackInput` with the bot's formatting. Plugged in by module
path in the credentials (`channels.slack.FormattedSlackInput:`; `scripts/credentials.py` writes it).

Kept from Rasa (read in `rasa/core/channels/slack.py`): the HMAC-SHA256 check of
`X-Slack-Signature` with the signing secret over `v0:<timestamp>:<body>`, refusing a timestamp
more than 5 minutes off (400, nothing processed); the immediate answer and the reply from a
background task; the event filtering (direct messages, mentions, the configured channel; the
bot's own messages ignored) and the button presses (interactivity payloads).

Added here:
- texts converted to Slack mrkdwn (`*bold*`, `_italic_`, `<url|text>`, `&`, `<`, `>` escaped) and
  sent in as few messages as fit, cut at paragraph boundaries (3000 characters, a section
  block's limit);
- buttons as a Block Kit message: the text in `section` blocks, then `actions` blocks of up to 25
  buttons (Rasa's connector drops every button beyond 5);
- no `as_user` argument (Slack refuses it from the bot tokens of current Slack apps with
  `invalid_arguments`);
- the Web API address can be set (`api_url`, e.g. a local mock) through slack_sdk's
  `AsyncWebClient(base_url=...)`;
- the Events API's `url_verification` answered as `{"challenge": ...}` (after the signature
  check), the form Slack documents;
- user text unescaped (`&amp;` `&lt;` `&gt;`) and `<https://…>` links unwrapped before NLU, then
  through the web channels' guard (`channels.guard.prepare`: a typed `/intent{…}` is passed on
  only when it is one of the bot's own buttons);
- a delivery received again (same `event_id`, or `trigger_id` for a button press) handled once.

Credentials: slack_token, slack_signing_secret; optional slack_channel, api_url, and Rasa's other
Slack options (use_threads, conversation_granularity, ...).
"""

import json
import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from sanic import Blueprint, response
from sanic.request import Request
from slack_sdk.web.async_client import AsyncWebClient

from channels import guard
from channels.formatting import plain_text, split_message, to_slack_mrkdwn

logger = logging.getLogger(__name__)

SECTION_LIMIT = 3000  # characters of a section block's text
BUTTONS_PER_BLOCK = 25  # elements of an actions block
BUTTON_TEXT_LIMIT = 75  # characters of a button's plain_text
BUTTON_VALUE_LIMIT = 2000
FALLBACK_TEXT_LIMIT = 3000  # the notification text of a Block Kit message
MAX_BLOCKS = 50


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_message(text: Text, buttons: Optional[List[Dict[Text, Any]]] = None) -> List[Dict[Text, Any]]:
    """The chat.postMessage arguments (without channel) for a bot text and its buttons."""
    chunks = split_message(text or "", SECTION_LIMIT, to_slack_mrkdwn)
    if not buttons:
        return [{"text": chunk, "mrkdwn": True} for chunk in chunks]
    elements = []
    for index, button in enumerate(buttons):
        title = str(button.get("title") or button.get("payload") or "?")
        element: Dict[Text, Any] = {
            "type": "button",
            "action_id": f"button_{index}",
            "text": {"type": "plain_text", "text": _truncate(title, BUTTON_TEXT_LIMIT), "emoji": True},
        }
        if button.get("url"):
            element["url"] = button["url"]
        else:
            value = str(button.get("payload") or title)
            if len(value) > BUTTON_VALUE_LIMIT:
                logger.warning("Slack button %r dropped: its payload is longer than %d characters.", title, BUTTON_VALUE_LIMIT)
                continue
            element["value"] = value
        elements.append(element)
    button_blocks = [
        {"type": "actions", "elements": elements[i:i + BUTTONS_PER_BLOCK]}
        for i in range(0, len(elements), BUTTONS_PER_BLOCK)
    ]
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks]
    # Slack takes at most 50 blocks a message: the text goes first, the buttons with the last part.
    room = MAX_BLOCKS - len(button_blocks)
    messages = []
    for start in range(0, max(len(sections), 1), room):
        part = sections[start:start + room]
        messages.append({"text": _truncate(plain_text(text or ""), FALLBACK_TEXT_LIMIT), "blocks": part})
    messages[-1]["blocks"] = messages[-1]["blocks"] + button_blocks
    return messages


class FormattedSlackOutput(SlackBot):
    """Posts mrkdwn texts and Block Kit buttons; see the module's docstring."""

    def __init__(self, token: Text, slack_channel: Optional[Text] = None, thread_id: Optional[Text] = None,
                 proxy: Optional[Text] = None, api_url: Optional[Text] = None) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        if api_url:
            self.client = AsyncWebClient(token, base_url=api_url.rstrip("/") + "/", proxy=proxy)

    async def _post_message(self, channel: Text, **kwargs: Any) -> None:
        kwargs.pop("as_user", None)
        kwargs.pop("type", None)  # Rasa's connector sends a non-existent `type` argument
        await super()._post_message(channel, **kwargs)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for message in slack_message(text):
            await self._post_message(channel=self.slack_channel or recipient_id, **message)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]],
                                     **kwargs: Any) -> None:
        for message in slack_message(text, buttons):
            await self._post_message(channel=self.slack_channel or recipient_id, **message)


def _delivery_id(request: Request) -> Optional[str]:
    """What identifies one delivery: an event's `event_id`, an interaction's `trigger_id`."""
    try:
        if request.form.get("payload"):
            return json.loads(request.form.get("payload")).get("trigger_id")
        body = request.json
        return body.get("event_id") if isinstance(body, dict) else None
    except (ValueError, AttributeError):
        return None


_BARE_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)>")


class FormattedSlackInput(SlackInput):
    """Rasa's Slack webhook (signature check included) with `FormattedSlackOutput`."""

    api_url: Optional[Text] = None  # the Web API base URL; None: Slack's
    deliveries: guard.Deliveries

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.api_url = (credentials or {}).get("api_url") or None
        channel.deliveries = guard.Deliveries()
        return channel

    @staticmethod
    def _sanitize_user_message(text: Text, uids_to_remove: Optional[List[Text]]) -> Text:
        text = SlackInput._sanitize_user_message(text, uids_to_remove)
        text = _BARE_LINK.sub(lambda match: match.group(1).replace("mailto:", "", 1), text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    async def process_message(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                              text: Text, sender_id: Optional[Text], metadata: Optional[Dict]) -> Any:
        """Rasa's, for a delivery seen for the first time, with the text through the web channels' guard."""
        delivery = _delivery_id(request)
        if delivery is not None and not self.deliveries.first(delivery):
            logger.info("Slack delivery received again: handled once.")
            return response.text("")
        text, info = guard.prepare(text)
        return await super().process_message(request, on_new_message, text, sender_id,
                                             guard.with_guard_info(metadata, info))

    def get_output_channel(self, channel: Optional[Text] = None, thread_id: Optional[Text] = None) -> OutputChannel:
        channel = channel or self.slack_channel
        return FormattedSlackOutput(self.slack_token, channel, thread_id, self.proxy, api_url=self.api_url)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        slack_webhook = super().blueprint(on_new_message)

        @slack_webhook.middleware("request")
        async def url_verification(request: Request) -> Optional[response.HTTPResponse]:
            if not request.path.endswith("/webhook") or request.method != "POST":
                return None
            if request.headers.get("content-type") != "application/json":
                return None
            try:
                body = request.json if request.body else None
            except Exception:  # not JSON: Rasa's handler answers
                return None
            if not (isinstance(body, dict) and body.get("type") == "url_verification"):
                return None
            if not self.is_request_from_slack_authentic(request):
                return None  # Rasa's handler refuses it
            return response.json({"challenge": body.get("challenge", "")})

        return slack_webhook
