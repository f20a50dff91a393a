"""Lambda entry: API Gateway events (HTTP API v2 and REST v1) to the Bolt app.

Redaction is installed before anything else can log. The app is built on the
first request and reused by the container; when `SECRETS_ARN` is set, the
Slack and Stripe keys come from that secret, and a rotated secret (seen once
the cache's max age passes) rebuilds the app.
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

from bot.adapters.secrets_manager import CachedSecret  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from handlers import guard, stripe_routes  # noqa: E402
from handlers.lazy import ContainedLazyRunner  # noqa: E402
from handlers.links import RETURN_PATH  # noqa: E402
from handlers.services import Services  # noqa: E402


class Container:
    """What one Lambda container keeps between invocations."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = dict(environ)
        settings = load_settings(self._environ)
        configure_logging(settings.LOG_LEVEL)
        arn = settings.SECRETS_ARN
        self._secret = CachedSecret(arn) if arn else None
        self._lock = threading.Lock()
        self._built_with: Mapping[str, str] | None = None
        self._handler: SlackRequestHandler | None = None
        self._services: Services | None = None

    def wiring(self) -> tuple[SlackRequestHandler, Services]:
        values = self._secret.get() if self._secret else {}
        with self._lock:
            if self._handler is None or self._services is None or values != self._built_with:
                from handlers.bootstrap import build

                wiring = build(load_settings({**self._environ, **values}))
                self._handler = SlackRequestHandler(wiring.app)
                runner = ContainedLazyRunner(self._handler.logger)
                wiring.app.listener_runner.lazy_listener_runner = runner
                self._services = wiring.services
                self._built_with = values
            return self._handler, self._services


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
    slack, services = _current().wiring()
    path = event.get("rawPath") or event.get("path") or ""
    if path == RETURN_PATH:
        query = event.get("queryStringParameters") or {}
        return _response(stripe_routes.return_page(query, services, slack.app.client))
    body = _raw_body(event)
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    if path == stripe_routes.WEBHOOK_PATH:
        return _response(stripe_routes.webhook(body, headers, services, slack.app.client))
    refused = guard.check(body, headers, services.signing_secret)
    if refused is not None:
        return _response((refused[0], "text/plain", refused[1]))
    if event.get("isBase64Encoded"):
        # Decoded once, here: Bolt logs whole events at DEBUG, and base64 would hide a
        # card number from redaction.
        event = {**event, "body": body.decode("utf-8"), "isBase64Encoded": False}
    try:
        response: dict[str, Any] = slack.handle(event, context)  # type: ignore[no-untyped-call]
    except Exception as exc:  # Bolt could not even parse a signed body
        logging.getLogger(__name__).warning("unparseable Slack request: %s", type(exc).__name__)
        return _response((400, "text/plain", "malformed request"))
    return response


def _raw_body(event: dict[str, Any]) -> bytes:
    """The body exactly as sent: signatures are over these bytes (API Gateway may base64 it)."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")


def _response(answer: stripe_routes.Answer) -> dict[str, Any]:
    status, content_type, body = answer
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}
