"""REST channel: Rasa 3.6.21's `RestInput` (same URL, `POST /webhooks/rest/webhook`, same answer:
a JSON list of bot messages; `?stream=true` too) with the request checked and every message
guarded (`channels.guard`). Plugged in by module path in the credentials
(`channels.rest.GuardedRestInput:`; `scripts/credentials.py --guarded` writes it).

Changed from Rasa's:
- a body that is not a JSON object, without a `sender` (a non-empty string or number of at most
  128 characters) or without a string `message`, or with a `metadata` that is not an object, is
  refused with 400 and a short JSON reason (JSON nested too deeply too, rather than 500); a body
  over 256 KB with 413, and a request over 1 MB by Sanic before it reads the body. (Rasa's files a message
  without sender under the shared conversation "default", answers 500 to a JSON list, and passes
  a missing message on as None.)
- the text is cleaned and capped, hand-typed payloads are limited to the bot's own buttons, the
  messages of one sender are handled one at a time, in order, and every message gets at least one
  answer ("temporarily unavailable, please retry" when Rasa produced none): see `channels.guard`;
- of the metadata only the language is kept (`guard.clean_metadata`);
- a message over the rate limits of its sender or of its client address is answered "slow down"
  and not handled (`channels.rate_limit`);
- the `input_channel` field of the body is ignored (the tracker records "rest").

Importing this module also sets how long Rasa waits for the action server
(`guard.configure_action_server_timeout`, ACTION_SERVER_TIMEOUT, default 5 s).
"""

import asyncio
import inspect
import json
import logging
from asyncio import Queue
from typing import Any, Awaitable, Callable, Dict, Optional, Text, Union

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel, RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from channels import guard, rate_limit

logger = logging.getLogger(__name__)

guard.configure_action_server_timeout()


class RequestError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def read_request(request: Request) -> "tuple[str, str, Optional[Dict[str, Any]], Dict[str, Any]]":
    """(sender, text for Rasa, metadata, what the guard changed) of a webhook request."""
    if len(request.body or b"") > guard.MAX_MESSAGE_BYTES:
        raise RequestError(f"the body is larger than {guard.MAX_MESSAGE_BYTES // 1024} KB", 413)
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: JSON nested too deeply
        raise RequestError("the body must be a JSON object: {\"sender\": \"…\", \"message\": \"…\"}") from None
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object: {\"sender\": \"…\", \"message\": \"…\"}")
    sender = guard.clean_sender(body.get("sender"))
    if sender is None:
        raise RequestError(f"'sender' is required: a non-empty string of at most {guard.MAX_SENDER_CHARS} "
                           "characters identifying the conversation")
    message = body.get("message")
    if not isinstance(message, str):
        raise RequestError("'message' is required: a string (it may be empty)")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise RequestError("'metadata', when given, must be a JSON object")
    text, info = guard.prepare(message)
    metadata = guard.clean_metadata(metadata, info)
    return sender, text, guard.with_guard_info(metadata, info), info


class GuardedRestInput(RestInput):
    """Rasa's REST webhook with checked requests and guarded messages; see the module's docstring."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls()

    def __init__(self) -> None:
        self.guard = guard.MessageGuard()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", module.__name__ if module else None)

        @webhook.listener("before_server_start")
        async def limit_request_size(app: Any, _: Any) -> None:
            guard.limit_request_size(app)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            try:
                sender, text, metadata, info = read_request(request)
            except RequestError as error:
                return response.json({"error": str(error)}, status=error.status)
            if info:
                logger.info("Conversation %s: input changed before the NLU: %s", guard.conversation_tag(sender), info)

            address = self.guard.limits.address(*rate_limit.sanic_peer(request))

            def user_message(output: Any) -> UserMessage:
                return UserMessage(text, output, sender, input_channel=self.name(), metadata=metadata)

            async def handle(message: UserMessage) -> None:
                if not await self.guard.over_rate(message, address):
                    await self.guard.deliver(on_new_message, message, request.app)

            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                async def stream(resp: Any) -> None:
                    queue: Queue = Queue()

                    async def handle_streamed() -> None:
                        try:
                            await handle(user_message(QueueOutputChannel(queue)))
                        finally:
                            await queue.put("DONE")

                    task = asyncio.ensure_future(handle_streamed())
                    while True:
                        result = await queue.get()
                        if result == "DONE":
                            break
                        await resp.write(json.dumps(result) + "\n")
                    await task

                return response.stream(stream, content_type="text/event-stream")

            collector = CollectingOutputChannel()
            try:
                await handle(user_message(collector))
            except asyncio.CancelledError:  # the client went away
                logger.info("Conversation %s: the request was cancelled.", guard.conversation_tag(sender))
            return response.json(collector.messages)

        return webhook
