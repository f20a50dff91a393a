"""Lambda entry: API Gateway events (HTTP API v2 and REST v1) to the Bolt app.

Redaction is installed before anything else can log. The app is built on the
first request and reused by the container; when `SECRETS_ARN` is set, the
Slack and Stripe keys come from that secret, and a rotated secret (seen once
the cache's max age passes) rebuilds the app.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from bot.logs import configure_logging, install_redaction

install_redaction()

from slack_bolt.adapter.aws_lambda import SlackRequestHandler  # noqa: E402 - after redaction

from bot.adapters.secrets_manager import CachedSecret  # noqa: E402
from bot.settings import load_settings  # noqa: E402


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

    def slack_handler(self) -> SlackRequestHandler:
        values = self._secret.get() if self._secret else {}
        with self._lock:
            if self._handler is None or values != self._built_with:
                from handlers.bootstrap import build_app

                settings = load_settings({**self._environ, **values})
                self._handler = SlackRequestHandler(build_app(settings))
                self._built_with = values
            return self._handler


_container: Container | None = None
_container_lock = threading.Lock()


def _current() -> Container:
    global _container
    with _container_lock:
        if _container is None:
            _container = Container(os.environ)
        return _container


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda function's entry point."""
    slack = _current().slack_handler()
    response: dict[str, Any] = slack.handle(event, context)  # type: ignore[no-untyped-call]
    return response
