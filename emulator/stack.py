"""The app's settings for a stack of emulators: what points the product at their base URLs."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_TOKEN
from emulator.teams_tokens import OPENID_PATH, TeamsTokens
from emulator.teams_tokens import create_app as tokens_app

if TYPE_CHECKING:
    from emulator.teams_connector import TeamsConnector

SIGNING_SECRET = "paybot-test-signing-secret"
STRIPE_KEY = "sk_test_paybot"


def app_environment(
    *,
    slack_url: str,
    stripe_url: str | None,
    sqlite_path: Path | None,
    token: str = DEFAULT_TOKEN,
    signing_secret: str = SIGNING_SECRET,
    stripe_key: str = STRIPE_KEY,
    log_level: str | None = "DEBUG",
    **overrides: str,
) -> dict[str, str]:
    """What the app reads to use the Slack at `slack_url` and the Stripe at `stripe_url`.

    Sessions are kept in SQLite at `sqlite_path`. None leaves a setting out, for the app to
    take from elsewhere: the Stripe it is given, its own session store, its own log level.
    `overrides` are further settings, and win over these.
    """
    environment = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_API_URL": f"{slack_url}/api/",
    }
    if stripe_url is not None:
        environment |= {"STRIPE_SECRET_KEY": stripe_key, "STRIPE_API_BASE": stripe_url}
    if sqlite_path is not None:
        environment |= {"SESSION_STORE": "sqlite", "SQLITE_PATH": str(sqlite_path)}
    if log_level is not None:
        environment["LOG_LEVEL"] = log_level
    return {**environment, **overrides}


def teams_environment(*, login_url: str, app_id: str, app_password: str) -> dict[str, str]:
    """What the app reads to serve Teams as the bot `app_id`, against the token issuer at
    `login_url` (its Entra token endpoint and the Bot Framework keys in one server)."""
    return {
        "TEAMS_APP_ID": app_id,
        "TEAMS_APP_PASSWORD": app_password,
        "TEAMS_LOGIN_URL": login_url,
        "TEAMS_OPENID_METADATA_URL": f"{login_url}{OPENID_PATH}",
    }


@dataclass(frozen=True)
class TeamsStandIns:
    """Microsoft's side of a Teams bot, served: the token issuer and the Bot Connector."""

    connector: TeamsConnector
    login_url: str
    service_url: str
    """The connector's address as Teams gives it in an activity's `serviceUrl`."""
    app_password: str = field(repr=False)

    @property
    def tokens(self) -> TeamsTokens:
        return self.connector.tokens

    @property
    def app_id(self) -> str:
        return self.connector.app_id

    def environment(self) -> dict[str, str]:
        """The app's Teams settings for this bot and these servers."""
        return teams_environment(
            login_url=self.login_url, app_id=self.app_id, app_password=self.app_password
        )


@contextmanager
def teams_stand_ins(
    *, app_id: str | None = None, app_password: str | None = None, bot_name: str = "paybot"
) -> Iterator[TeamsStandIns]:
    """Serve the Teams stand-ins on free loopback ports, with a bot registered (by default a
    fresh app id and password), until the block ends."""
    # Here, not above: the connector loads the Teams SDK's models, most of a second.
    from emulator.teams_connector import TeamsConnector
    from emulator.teams_connector import create_app as connector_app

    tokens = TeamsTokens()
    registered = tokens.register_app(
        app_id or str(uuid.uuid4()), app_password or secrets.token_urlsafe(24)
    )
    connector = TeamsConnector(tokens, registered.app_id, bot_name=bot_name)
    with (
        serve_in_thread(tokens_app(tokens)) as tokens_server,
        serve_in_thread(connector_app(connector)) as connector_server,
    ):
        yield TeamsStandIns(
            connector, tokens_server.url, f"{connector_server.url}/", registered.password
        )
