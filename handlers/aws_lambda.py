"""Lambda entry: API Gateway events (HTTP API v2 and REST v1) to the route table.

Redaction is installed before anything else can log. The app is built on the
first request and reused by the container; when `SECRETS_ARN` is set, the
Slack and Stripe keys come from that secret, and a rotated secret (seen once
the cache's max age passes) rebuilds the app. Settings that cannot serve, or a
secret never read, answer 503 with one log line for the operator, not a crash.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from bot.logs import configure_logging, install_redaction

install_redaction()

from bot.adapters.secrets_manager import CachedSecret, SecretUnavailable  # noqa: E402
from bot.settings import SettingsError, load_settings  # noqa: E402
from handlers.bootstrap import build  # noqa: E402
from handlers.http import MAX_BODY_BYTES, Answer, Request  # noqa: E402
from handlers.routes import Routes, answer, routes  # noqa: E402
from handlers.services import lambda_invocation  # noqa: E402
from handlers.slack.lazy import ContainedLazyRunner  # noqa: E402

log = logging.getLogger(__name__)

UNAVAILABLE: Answer = (503, "text/plain", "paybot is unavailable; see its log")


class Container:
    """What one Lambda container keeps between invocations."""

    def __init__(self, environ: Mapping[str, str], *, secret: CachedSecret | None = None) -> None:
        """`secret` defaults to `SECRETS_ARN`'s, read through Secrets Manager."""
        self._environ = dict(environ)
        self._lock = threading.Lock()
        self._built_with: Mapping[str, str] | None = None
        self._routes: Routes | None = None
        self._secret = secret
        try:
            settings = load_settings(self._environ)
        except SettingsError as exc:
            configure_logging("INFO")
            log.error("paybot cannot start: %s", exc)
            self._broken = True
            return
        self._broken = False
        configure_logging(settings.LOG_LEVEL)
        if secret is None and settings.SECRETS_ARN:
            self._secret = CachedSecret(settings.SECRETS_ARN)

    def routes(self) -> Routes | None:
        """The routes for the current settings; None, its cause logged once, when there are none."""
        if self._broken:
            return None
        try:
            values = self._secret.get() if self._secret else {}
        except SecretUnavailable:
            return None  # the secret logs its own failure, once per outage
        with self._lock:
            if values != self._built_with:
                self._build(values)
            return self._routes

    def _build(self, values: Mapping[str, str]) -> None:
        self._built_with = values
        self._routes = None
        try:
            # Every rule applies to the merged settings: a key the secret was expected
            # to hold and does not is named here, not discovered by a payer.
            wiring = build(load_settings({**self._environ, **values}, secret_merged=True))
        except SettingsError as exc:
            log.error("paybot cannot serve: %s", exc)  # once per configuration
            return
        # Lazy work runs in a second, asynchronous invocation of this function.
        if wiring.app is not None:
            runner = ContainedLazyRunner(wiring.app.logger)
            wiring.app.listener_runner.lazy_listener_runner = runner
        self._routes = routes(wiring)


_container: Container | None = None
_container_lock = threading.Lock()


def _current() -> Container:
    global _container
    with _container_lock:
        if _container is None:
            _container = Container(os.environ)
        return _container


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda function's entry point: every route in `handlers.routes`."""
    table = _current().routes()
    if table is None:
        return _response(UNAVAILABLE)
    body = _raw_body(event)
    if body is None:
        return _response((400, "text/plain", "body is not valid base64"))
    if len(body) > MAX_BODY_BYTES:  # API Gateway allows 10 MB; Slack sends far less
        return _response((413, "text/plain", "request body too large"))
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    # Bolt re-sends this event to run lazy work (`handlers.slack.lazy`). It goes with the
    # body as text, decoded once here (base64 would hide a card number from redaction and
    # from any reader of the invoke payload), and with the `headers` REST (v1) events lack.
    lazy_event = {
        **event,
        "headers": headers,
        "body": body.decode("utf-8", "replace"),
        "isBase64Encoded": False,
    }
    request = Request(
        method=_method(event),
        path=str(event.get("rawPath") or event.get("path") or ""),
        headers=headers,
        body=body,
        query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
        context={
            "aws_lambda_function_name": getattr(context, "function_name", ""),
            "aws_lambda_invoked_function_arn": getattr(context, "invoked_function_arn", ""),
            "lambda_request": lazy_event,
        },
    )
    with lambda_invocation(context):  # a claim lasts as long as this invocation may run
        return _response(answer(table, request))


def _method(event: dict[str, Any]) -> str:
    """HTTP API (v2) and REST API (v1) events keep the method in different places."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    return str(http.get("method") or context.get("httpMethod") or event.get("httpMethod") or "")


def _raw_body(event: dict[str, Any]) -> bytes | None:
    """The body exactly as sent: signatures are over these bytes (API Gateway may base64 it)."""
    body = str(event.get("body") or "")
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body)
    except ValueError:  # binascii.Error: not what API Gateway sends
        return None


def _response(answered: Answer) -> dict[str, Any]:
    status, content_type, body = answered
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}
