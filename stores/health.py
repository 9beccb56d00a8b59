"""`GET /health`: is the tracker store up, is the lock store up — as an input channel, so it is
plugged in by module path in the credentials file, with no change to Rasa:

    stores.health.HealthInput:
      # check_at_start: true   refuse to serve when a store is down once the agent is loaded
      # timeout: 5             seconds each check may take

    GET /health  →  200 {"tracker_store": "up", "lock_store": "up"}
                    503 {"tracker_store": "down", "lock_store": "up"}   (either one down)

`GET /` is a static reply and Rasa's tracker store wrapper hides database failures (it falls back to
memory with one log line), so this is the route a load balancer or an orchestrator should probe.
Each check is a real round trip (SQL `SELECT 1`, Redis PING), off the event loop, with a time limit;
in-memory stores are always up; the reason a store is down goes to the log, not to the caller.

With `check_at_start` (the default), once Rasa has loaded the agent the channel checks both stores
and, when one is down, logs why and stops the start (`rasa run` exits with status 1). The stores in
this package already refuse to be created without their server; this check covers Rasa's own
store types (`type: SQL`, `type: redis`) as well.
"""

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from stores.probes import DEFAULT_PROBE_TIMEOUT, UP, StoreUnavailable, store_names, store_problems, store_status

logger = logging.getLogger(__name__)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class HealthInput(InputChannel):
    """Not a messaging channel: adds `GET /health` and the start-up store check."""

    def __init__(self, check_at_start: bool = True, timeout: float = DEFAULT_PROBE_TIMEOUT) -> None:
        self.check_at_start = check_at_start
        self.timeout = timeout

    @classmethod
    def name(cls) -> Text:
        return "health"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "HealthInput":
        credentials = credentials or {}
        return cls(check_at_start=_flag(credentials.get("check_at_start", True)),
                   timeout=float(credentials.get("timeout", DEFAULT_PROBE_TIMEOUT)))

    def url_prefix(self) -> Text:
        # Rasa mounts channels at urljoin("/webhooks/", url_prefix()): an absolute path puts the
        # route at /health rather than /webhooks/health/.
        return "/health"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        health = Blueprint("store_health", __name__)

        @health.route("", methods=["GET"])
        async def status(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            body = await store_status(agent, self.timeout)
            healthy = all(value == UP for value in body.values())
            return response.json(body, status=200 if healthy else 503)

        if self.check_at_start:

            @health.listener("after_server_start")
            async def check_stores(app: Any, _loop: Any) -> None:
                # Runs after Rasa's own before_server_start listener has loaded the agent.
                agent = getattr(app.ctx, "agent", None)
                if agent is None:
                    return
                problems = {name: problem for name, problem in (await store_problems(agent, self.timeout)).items()
                            if problem}
                if problems:
                    names = store_names(agent)
                    detail = "; ".join(f"{name.replace('_', ' ')} ({names[name]}) is down: {problem}"
                                       for name, problem in problems.items())
                    message = f"Refusing to serve: {detail}."
                    logger.error(message)
                    raise StoreUnavailable(message)
                logger.info("Stores up: " + ", ".join(f"{name.replace('_', ' ')} ({kind})"
                                                      for name, kind in store_names(agent).items()) + ".")

        return health
