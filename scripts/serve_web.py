"""Serves the chat page (web/) on http://localhost:8080/ — a small threaded static server, stdlib only.

Usage: .venv/bin/python scripts/serve_web.py [--port 8080] [--host 127.0.0.1] [--rasa-url http://localhost:5005]

It serves only the page's own files: index.html, app.js, style.css, the widget bundle built into
web/dist/ by scripts/build_web.py (built here first when missing or stale), and /config.js, written
on the fly, which tells the page where the Rasa server is (--rasa-url, else $RASA_URL, else
http://localhost:5005). Every answer carries a Content-Security-Policy that lets the page load
nothing but its own files and connect nowhere but to itself and the Rasa server.
The Rasa server must allow the page's origin: `rasa run --cors "http://localhost:8080"`.
"""

import argparse
import json
import os
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from scripts import build_web

WEB = build_web.WEB
DEFAULT_PORT = 8080
DEFAULT_RASA_URL = "http://localhost:5005"
# Seconds a connection may stay silent (a request sent slowly, an idle keep-alive): else one
# client could hold a thread per connection for ever.
REQUEST_TIMEOUT = 10

# URL path → file; nothing else is served (no directory listing, no node_modules, no package.json).
FILES: Dict[str, Tuple[Path, str]] = {
    "/": (WEB / "index.html", "text/html; charset=utf-8"),
    "/index.html": (WEB / "index.html", "text/html; charset=utf-8"),
    "/app.js": (WEB / "app.js", "text/javascript; charset=utf-8"),
    "/style.css": (WEB / "style.css", "text/css; charset=utf-8"),
    "/dist/webchat.js": (build_web.OUTPUT, "text/javascript; charset=utf-8"),
}


def rasa_origin(rasa_url: str) -> str:
    """The scheme://host[:port] of the Rasa server; refuses anything that is not a plain http(s) URL."""
    parts = urlsplit(rasa_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"not a Rasa server URL (expected e.g. http://localhost:5005): {rasa_url!r}")
    if any(c in parts.netloc for c in " ;,'\"<>\\"):
        raise ValueError(f"unexpected characters in the Rasa server URL: {rasa_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(origin: str) -> str:
    websocket_origin = ("wss" if origin.startswith("https:") else "ws") + origin[origin.index(":"):]
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # the widget injects its CSS as <style> elements
        "img-src 'self' data:",
        "font-src 'self' data:",  # the widget's carousel icon font is inlined
        f"connect-src 'self' {origin} {websocket_origin}",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])


def make_handler(rasa_url: str, quiet: bool = True) -> type:
    origin = rasa_origin(rasa_url)
    policy = content_security_policy(origin)
    config_js = ("window.WALLONIA_CHAT_CONFIG = " + json.dumps({"rasaUrl": origin}) + ";\n").encode()

    class ChatPageHandler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT  # socketserver.StreamRequestHandler: the connection's socket timeout

        def version_string(self) -> str:
            return "wallonia-chat-page"

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def _answer(self, send_body: bool) -> None:
            path = urlsplit(self.path).path
            body: Optional[bytes]
            if path == "/config.js":
                body, content_type = config_js, "text/javascript; charset=utf-8"
            elif path in FILES:
                file, content_type = FILES[path]
                try:
                    body = file.read_bytes()
                except OSError:
                    body = None
            else:
                body, content_type = None, ""
            if body is None:
                body, content_type, status = b"Not found\n", "text/plain; charset=utf-8", HTTPStatus.NOT_FOUND
            else:
                status = HTTPStatus.OK
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", policy)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
            if not quiet:
                super().log_message(format, *args)

        def log_error(self, format: str, *args) -> None:  # noqa: A002
            super().log_message(format, *args)

    return ChatPageHandler


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("WEB_PORT", DEFAULT_PORT)))
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL") or DEFAULT_RASA_URL,
                        help="the Rasa server as the browser reaches it (default $RASA_URL or %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    try:
        handler = make_handler(args.rasa_url, quiet=not args.verbose)
        if build_web.is_stale():
            build_web.build()
    except (OSError, ValueError) as error:
        print(f"serve_web: {error}", file=sys.stderr)
        return 1

    try:
        server = ThreadingHTTPServer((args.host, args.port), handler)
    except OSError as error:
        print(f"serve_web: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    server.daemon_threads = True
    host = "localhost" if args.host in ("127.0.0.1", "::1", "localhost") else args.host
    print(f"Chat page on http://{host}:{server.server_address[1]}/ (Rasa server: {rasa_origin(args.rasa_url)})",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
