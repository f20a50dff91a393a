"""`python -m bot serve`: the Bolt app over HTTP on loopback, one thread per request."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from handlers import guard, stripe_routes
from handlers.links import RETURN_PATH
from handlers.services import Services
from handlers.stripe_routes import Answer

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One user's slow turn never delays another user's ack."""

    daemon_threads = True
    request_queue_size = 128  # the default of 5 resets connections in a burst of users


REQUEST_TIMEOUT_SECONDS = 10.0
"""A client that stops sending (a Content-Length larger than its body, a header never
finished) frees its thread after this long; Slack sends whole requests at once."""


class QuietHandler(WSGIRequestHandler):
    timeout = REQUEST_TIMEOUT_SECONDS  # applied to each connection's socket

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def routes(bolt_app: App, services: Services | None = None) -> WSGIApp:
    """`POST /slack/events` to Bolt; health, Stripe's webhook and return page here; else 404."""
    slack = SlackRequestHandler(bolt_app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        answer: Answer = (404, "text/plain", "not found")
        body = b""
        if method == "POST" and path in ("/slack/events", stripe_routes.WEBHOOK_PATH):
            read = _body(environ)
            if not isinstance(read, bytes):
                return _answer(start_response, read)
            body = read
            environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads the body again
        if path == "/slack/events" and services is not None and services.signing_secret:
            headers = {**_headers(environ), "Content-Type": environ.get("CONTENT_TYPE", "")}
            refused = guard.check(body, headers, services.signing_secret)
            if refused is None:
                try:
                    return slack(environ, start_response)
                except Exception as exc:  # Bolt could not even parse a signed body
                    log.warning("unparseable Slack request: %s", type(exc).__name__)
                    refused = (400, "malformed request")
            answer = (refused[0], "text/plain", refused[1])
        elif path == "/slack/events":
            return slack(environ, start_response)
        if path == "/health" and method in ("GET", "HEAD"):
            answer = (200, "text/plain", "ok")
        elif path == stripe_routes.WEBHOOK_PATH and method == "POST" and services is not None:
            answer = stripe_routes.webhook(body, _headers(environ), services, bolt_app.client)
        elif path == RETURN_PATH and method == "GET":
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            answer = stripe_routes.return_page(query, services, bolt_app.client)
        return _answer(start_response, answer)

    return application


def _answer(start_response: StartResponse, answer: Answer) -> Iterable[bytes]:
    status, content_type, text = answer
    start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", content_type)])
    return [text.encode()]


def _body(environ: dict[str, Any]) -> bytes | Answer:
    """The request body, or the answer when its length is invalid, too large or never sent."""
    length = environ.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()):
        return 400, "text/plain", "invalid Content-Length"
    if int(length) > guard.MAX_BODY_BYTES:  # refused before a byte of it is read
        return 413, "text/plain", "request body too large"
    try:
        body: bytes = environ["wsgi.input"].read(int(length))
    except OSError:  # the socket's timeout: fewer bytes than announced arrived
        return 408, "text/plain", "request body incomplete"
    if len(body) < int(length):
        return 400, "text/plain", "request body shorter than its Content-Length"
    return body


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    return {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}


def make(
    bolt_app: App,
    *,
    services: Services | None = None,
    host: str = "127.0.0.1",
    port: int = 3000,
    request_timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> WSGIServer:
    """A server bound and ready; call `serve_forever()` (port 0 picks a free one)."""
    handler = type("TimedHandler", (QuietHandler,), {"timeout": request_timeout})
    return make_server(
        host,
        port,
        routes(bolt_app, services),
        server_class=ThreadingWSGIServer,
        handler_class=handler,
    )
