"""`python -m bot serve`: the route table over HTTP on loopback, one thread per request."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from handlers.bootstrap import Wiring
from handlers.http import MAX_BODY_BYTES, NOT_FOUND, Answer, Request
from handlers.routes import Routes, answer, routes

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


def application(table: Routes) -> WSGIApp:
    """A WSGI app over the route table: each request read, bounded, and answered once."""

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if (method, path) not in table:
            return _answer(start_response, NOT_FOUND)
        body = _body(environ)
        if not isinstance(body, bytes):
            return _answer(start_response, body)
        headers = {**_headers(environ), "Content-Type": environ.get("CONTENT_TYPE", "")}
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        request = Request(method=method, path=path, headers=headers, body=body, query=query)
        return _answer(start_response, answer(table, request))

    return wsgi


def _answer(start_response: StartResponse, answer: Answer) -> Iterable[bytes]:
    status, content_type, text = answer
    start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", content_type)])
    return [text.encode()]


def _body(environ: dict[str, Any]) -> bytes | Answer:
    """The request body, or the answer when its length is invalid, too large or never sent."""
    length = environ.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()):
        return 400, "text/plain", "invalid Content-Length"
    if int(length) > MAX_BODY_BYTES:  # refused before a byte of it is read
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
    wiring: Wiring,
    *,
    host: str = "127.0.0.1",
    port: int = 3000,
    request_timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> WSGIServer:
    """A server bound and ready; call `serve_forever()` (port 0 picks a free one)."""
    handler = type("TimedHandler", (QuietHandler,), {"timeout": request_timeout})
    return make_server(
        host,
        port,
        application(routes(wiring)),
        server_class=ThreadingWSGIServer,
        handler_class=handler,
    )
