"""The action server's request check, plugged into `rasa run actions` through rasa_sdk's plugin
hook (rasa_sdk/plugin.py imports a package of this name, if there is one, and calls its
`init_hooks`; `attach_sanic_app_extensions` then gets the Sanic app before it starts).

Every request but `GET /health` must carry `Authorization: Bearer $ACTION_SERVER_TOKEN`, the
header the Rasa server sends from its endpoints file (`action_endpoint.headers`), else 401; and a
body must be JSON (`Content-Type: application/json`), else 415. Without it anyone reaching the
port, and any web page open in a browser on the same host (a `text/plain` POST needs no CORS
preflight), could run the custom actions — "forget me" included — on any conversation. Without
ACTION_SERVER_TOKEN every call is refused. docs/security.md.
"""

import hmac
import logging
import os
from typing import Any, Optional

import pluggy
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")

TOKEN_VARIABLE = "ACTION_SERVER_TOKEN"
OPEN_PATHS = {"/health"}


def refusal(request: Request, token: Optional[str]) -> Optional[HTTPResponse]:
    """The answer to a request that must not reach the actions, or None to let it through."""
    if request.method == "OPTIONS" or request.path in OPEN_PATHS:
        return None
    given = request.headers.get("authorization", "")
    if not token or not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return response.json({"error": "unauthorised"}, status=401)
    if request.method == "POST" and request.content_type.split(";")[0].strip().lower() != "application/json":
        return response.json({"error": "the body must be JSON (Content-Type: application/json)"}, status=415)
    return None


class ActionServerAuth:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        token = os.environ.get(TOKEN_VARIABLE) or None
        if token is None:
            logger.error("%s is not set: the action server refuses every call.", TOKEN_VARIABLE)

        @app.middleware("request")
        async def check(request: Request) -> Any:
            return refusal(request, token)


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(ActionServerAuth())
