"""The served app with Teams on, and Microsoft's side emulated around it.

Activities go into `POST /api/messages` over real HTTP, each with a token signed as
Bot Framework signs them; the app's replies go out over real HTTP to the Bot
Connector stand-in, with a token the app got from the Entra stand-in.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.settings import load_settings
from emulator.bedrock_api import BedrockEmulator
from emulator.bedrock_api import create_app as bedrock_app
from emulator.server import serve_in_thread
from emulator.slack_api import SlackWorkspace
from emulator.slack_api import create_app as slack_app
from emulator.stack import app_environment
from emulator.stripe_api import StripeEmulator
from emulator.stripe_api import create_app as stripe_app
from emulator.teams_connector import PersonalChat, TeamsConnector, new_tenant_id, personal_message
from emulator.teams_connector import create_app as connector_app
from emulator.teams_tokens import OPENID_PATH, TeamsTokens
from emulator.teams_tokens import create_app as tokens_app
from handlers.bootstrap import build
from handlers.server import make
from handlers.teams.render import ACTION_KEY
from tests.integration.harness import MODEL_ID, WEBHOOK_SECRET, Response

APP_ID = "6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"
APP_PASSWORD = "teams-app-password-for-tests"
PERSON = "0d4c1c9e-7a43-4d3c-9f5e-2b7f0a1e6c55"


@dataclass
class TeamsPaybot:
    """A driver that acts as Teams towards the app, and sees what the app posted."""

    url: str
    tokens: TeamsTokens
    connector: TeamsConnector
    stripe: StripeEmulator
    service_url: str
    chat: PersonalChat
    environment: dict[str, str] = field(default_factory=dict)
    """The settings the served app was built with (a Lambda entry can read the same)."""
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        def notify(_: object) -> None:
            with self._changed:
                self._changed.notify_all()

        self.connector.subscribe(notify)

    def post(self, activity: dict[str, Any], *, token: str | None = None) -> Response:
        """POST an activity as Bot Framework does; `token` "" sends none."""
        bearer = self.tokens.mint_inbound(APP_ID, self.service_url) if token is None else token
        headers = {"Content-Type": "application/json"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        request = urllib.request.Request(
            f"{self.url}/api/messages", data=json.dumps(activity).encode(), headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Response(answer.status, answer.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode())

    def say(self, text: str, **options: Any) -> Response:
        return self.post(self.message(text=text), **options)

    def press(self, action: str) -> Response:
        return self.post(self.message(value={ACTION_KEY: action}))

    def message(self, **what: Any) -> dict[str, Any]:
        return personal_message(self.chat, service_url=self.service_url, app_id=APP_ID, **what)

    def posted(self) -> list[dict[str, Any]]:
        """What the bot posted in the person's chat, oldest first."""
        return self.connector.activities(self.chat.conversation_id)

    def texts(self) -> list[str]:
        """Each posted message's words: its text, or its cards' TextBlocks."""
        return [words(activity) for activity in self.posted()]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        with self._changed:
            if not self._changed.wait_for(condition, timeout=timeout):
                raise AssertionError("the app did not do what was expected in time")

    def wait_for_posts(self, count: int) -> list[dict[str, Any]]:
        self.wait_until(lambda: len(self.posted()) >= count)
        return self.posted()


def cards(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["content"] for a in activity.get("attachments") or []]


def words(activity: dict[str, Any]) -> str:
    blocks = [b.get("text", "") for card in cards(activity) for b in card.get("body") or []]
    return "\n".join(filter(None, [activity.get("text") or "", *blocks]))


def actions(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [action for card in cards(activity) for action in card.get("actions") or []]


@contextmanager
def running_teams(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    bedrock: BedrockEmulator | None = None,
    **overrides: str,
) -> Iterator[TeamsPaybot]:
    """Slack, Stripe, Bot Framework's tokens and the Bot Connector emulated; the app served.

    With `bedrock`, the dialogue runs on the Bedrock engine against that stand-in.
    """
    if bedrock is not None:
        with serve_in_thread(bedrock_app(bedrock)) as bedrock_server:
            monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock_server.url)
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                monkeypatch.setenv(name, "testing")
            monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
            engine = {"DIALOGUE_ENGINE": "bedrock", "BEDROCK_MODEL_ID": MODEL_ID}
            with running_teams(tmp_path, monkeypatch, **engine, **overrides) as running:
                yield running
        return
    tokens = TeamsTokens()
    tokens.register_app(APP_ID, APP_PASSWORD)
    connector = TeamsConnector(tokens, APP_ID)
    stripe = StripeEmulator(webhook_secret=WEBHOOK_SECRET, webhook_retry_delay=0)
    with (
        serve_in_thread(slack_app(SlackWorkspace())) as slack_server,
        serve_in_thread(stripe_app(stripe)) as stripe_server,
        serve_in_thread(tokens_app(tokens)) as tokens_server,
        serve_in_thread(connector_app(connector)) as connector_server,
    ):
        environment = app_environment(
            slack_url=slack_server.url,
            stripe_url=stripe_server.url,
            sqlite_path=tmp_path / "sessions.db",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TEAMS_APP_ID=APP_ID,
            TEAMS_APP_PASSWORD=APP_PASSWORD,
            TEAMS_LOGIN_URL=tokens_server.url,
            TEAMS_OPENID_METADATA_URL=f"{tokens_server.url}{OPENID_PATH}",
            **overrides,
        )
        wiring = build(load_settings(environment))
        server = make(wiring, port=0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stripe.webhook_url = f"http://127.0.0.1:{server.server_port}/stripe/webhook"
        chat = connector.open_personal_chat(new_tenant_id(), PERSON)
        try:
            yield TeamsPaybot(
                f"http://127.0.0.1:{server.server_port}",
                tokens,
                connector,
                stripe,
                f"{connector_server.url}/",
                chat,
                environment,
            )
        finally:
            server.shutdown()
            server.server_close()
