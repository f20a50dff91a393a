"""The Slack surface: the Bolt app with every listener, and its route for `/slack/events`."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltRequest

from bot.logs import install_redaction
from bot.settings import Settings
from handlers.http import Answer, Request, Route
from handlers.services import Services
from handlers.slack import actions, commands, guard, home, messages, views
from handlers.slack.client import build_client

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def register_listeners(app: App, services: Services) -> None:
    messages.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    home.register(app, services)


def build_slack_app(settings: Settings, services: Services) -> App:
    """The Bolt app with every listener registered."""
    install_redaction()  # before Bolt or any SDK can log a request body
    settings.require("SLACK_SIGNING_SECRET")
    assert settings.SLACK_SIGNING_SECRET is not None
    app = App(
        # Bolt gives its own loggers the level of the logger it is handed; this one is
        # kept at WARNING by `configure_logging`, so request bodies are never logged.
        logger=logging.getLogger("slack_bolt"),
        name="paybot",  # without a name Bolt inspects the call stack, slowly, to make one
        client=build_client(settings, services.metrics),
        signing_secret=settings.SLACK_SIGNING_SECRET.get_secret_value(),
        process_before_response=True,
        token_verification_enabled=False,
        # Lazy work (model turns) runs here when served over HTTP; Bolt's default of 5
        # threads queues a burst of DMs behind each other.
        listener_executor=ThreadPoolExecutor(max_workers=32),
    )
    register_listeners(app, services)
    return app


def events_route(app: App, signing_secret: str) -> Route:
    """`POST /slack/events`: our own gate (`guard`), then Bolt, which verifies again."""

    def route(request: Request) -> Answer:
        if signing_secret:
            refused = guard.check(request.body, request.headers, signing_secret)
            if refused is not None:
                return refused[0], "text/plain", refused[1]
        try:
            bolt = BoltRequest(
                body=request.body.decode("utf-8"),
                query=dict(request.query),
                headers=dict(request.headers),
                context=request.context,
            )
            response = app.dispatch(bolt)
        except Exception as exc:  # Bolt could not even parse a signed body
            log.warning("unparseable Slack request: %s", type(exc).__name__)
            return 400, "text/plain", "malformed request"
        content_type = (response.headers.get("content-type") or ["text/plain"])[0]
        return response.status, content_type, response.body

    return route
