"""Wire every Slack surface to its listeners."""

from __future__ import annotations

from slack_bolt import App

from handlers import actions, commands, messages, views
from handlers.services import Services


def register_listeners(app: App, services: Services) -> None:
    messages.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
