"""Lambda entry: API Gateway events (HTTP API v2 and REST v1) to the Bolt app.

Redaction is installed before anything else can log. The app is built once
per container, on the first request, and reused.
"""

from __future__ import annotations

import threading
from typing import Any

from bot.logs import configure_logging, install_redaction

install_redaction()

from slack_bolt.adapter.aws_lambda import SlackRequestHandler  # noqa: E402 - after redaction

_lock = threading.Lock()
_handler: SlackRequestHandler | None = None


def _slack_handler() -> SlackRequestHandler:
    global _handler
    with _lock:
        if _handler is None:
            from bot.settings import load_settings
            from handlers.bootstrap import build_app

            settings = load_settings()
            configure_logging(settings.LOG_LEVEL)
            _handler = SlackRequestHandler(build_app(settings))
        return _handler


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda function's entry point."""
    response: dict[str, Any] = _slack_handler().handle(event, context)  # type: ignore[no-untyped-call]
    return response
