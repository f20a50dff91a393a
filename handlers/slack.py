"""Lambda entry: API Gateway events (HTTP API v2 and REST v1) to the Bolt app.

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

from slack_bolt.adapter.aws_lambda import SlackRequestHandler  # noqa: E402 - after redaction

from bot.adapters.secrets_manager import CachedSecret, SecretUnavailable  # noqa: E402
from bot.settings import SettingsError, load_settings  # noqa: E402
from handlers import guard, stripe_routes  # noqa: E402
from handlers.lazy import ContainedLazyRunner  # noqa: E402
from handlers.links import RETURN_PATH  # noqa: E402
from handlers.services import Services, lambda_invocation  # noqa: E402

log = logging.getLogger(__name__)

UNAVAILABLE: stripe_routes.Answer = (503, "text/plain", "paybot is unavailable; see its log")


class Container:
    """What one Lambda container keeps between invocations."""

    def __init__(self, environ: Mapping[str, str], *, secret: CachedSecret | None = None) -> None:
        """`secret` defaults to `SECRETS_ARN`'s, read through Secrets Manager."""
        self._environ = dict(environ)
        self._lock = threading.Lock()
        self._built_with: Mapping[str, str] | None = None
        self._handler: SlackRequestHandler | None = None
        self._services: Services | None = None
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

    def wiring(self) -> tuple[SlackRequestHandler, Services] | None:
        """The app for the current settings; None, its cause logged once, when there is none."""
        if self._broken:
            return None
        try:
            values = self._secret.get() if self._secret else {}
        except SecretUnavailable:
            return None  # the secret logs its own failure, once per outage
        with self._lock:
            if values != self._built_with:
                self._build(values)
            if self._handler is None or self._services is None:
                return None
            return self._handler, self._services

    def _build(self, values: Mapping[str, str]) -> None:
        from handlers.bootstrap import build

        self._built_with = values
        self._handler = self._services = None
        try:
            # Every rule applies to the merged settings: a key the secret was expected
            # to hold and does not is named here, not discovered by a payer.
            wiring = build(load_settings({**self._environ, **values}, secret_merged=True))
        except SettingsError as exc:
            log.error("paybot cannot serve: %s", exc)  # once per configuration
            return
        self._handler = SlackRequestHandler(wiring.app)
        runner = ContainedLazyRunner(self._handler.logger)
        wiring.app.listener_runner.lazy_listener_runner = runner
        self._services = wiring.services


_container: Container | None = None
_container_lock = threading.Lock()


def _current() -> Container:
    global _container
    with _container_lock:
        if _container is None:
            _container = Container(os.environ)
        return _container


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda function's entry point: Slack's events, Stripe's webhook and return page."""
    wiring = _current().wiring()
    if wiring is None:
        return _response(UNAVAILABLE)
    slack, services = wiring
    path = event.get("rawPath") or event.get("path") or ""
    if path == RETURN_PATH:
        query = event.get("queryStringParameters") or {}
        return _response(stripe_routes.return_page(query, services, slack.app.client))
    body = _raw_body(event)
    if body is None:
        return _response((400, "text/plain", "body is not valid base64"))
    if len(body) > guard.MAX_BODY_BYTES:  # API Gateway allows 10 MB; Slack sends far less
        return _response((413, "text/plain", "request body too large"))
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    if path == stripe_routes.WEBHOOK_PATH:
        with lambda_invocation(context):  # a claim lasts as long as this invocation may run
            return _response(stripe_routes.webhook(body, headers, services, slack.app.client))
    refused = guard.check(body, headers, services.signing_secret)
    if refused is not None:
        return _response((refused[0], "text/plain", refused[1]))
    # Bolt's adapter indexes `isBase64Encoded` and `headers`, which older REST API (v1)
    # events may lack. The body is decoded once, here: Bolt logs whole events at DEBUG,
    # and base64 would hide a card number from redaction.
    event = {**event, "headers": headers, "body": body.decode("utf-8"), "isBase64Encoded": False}
    try:
        with lambda_invocation(context):  # a claim lasts as long as this invocation may run
            response: dict[str, Any] = slack.handle(event, context)  # type: ignore[no-untyped-call]
    except Exception as exc:  # Bolt could not even parse a signed body
        log.warning("unparseable Slack request: %s", type(exc).__name__)
        return _response((400, "text/plain", "malformed request"))
    return response


def _raw_body(event: dict[str, Any]) -> bytes | None:
    """The body exactly as sent: signatures are over these bytes (API Gateway may base64 it)."""
    body = str(event.get("body") or "")
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        return base64.b64decode(body)
    except ValueError:  # binascii.Error: not what API Gateway sends
        return None


def _response(answer: stripe_routes.Answer) -> dict[str, Any]:
    status, content_type, body = answer
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}
