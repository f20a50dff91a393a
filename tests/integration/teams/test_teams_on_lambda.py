"""Teams on the Lambda entry: the same activity answered through an API Gateway event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import handlers.aws_lambda
from emulator.server import serve_in_thread
from emulator.slack_api import SlackWorkspace
from emulator.slack_api import create_app as slack_app
from emulator.stack import app_environment
from emulator.teams_connector import PersonalChat, TeamsConnector, new_tenant_id, personal_message
from emulator.teams_connector import create_app as connector_app
from emulator.teams_tokens import OPENID_PATH, TeamsTokens
from emulator.teams_tokens import create_app as tokens_app
from tests.integration.harness import WEBHOOK_SECRET
from tests.integration.teams.harness import APP_ID, APP_PASSWORD, PERSON, words


@dataclass
class LambdaContext:
    function_name: str = "paybot-dev-slack"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:paybot-dev-slack"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@dataclass
class Microsoft:
    tokens: TeamsTokens
    connector: TeamsConnector
    service_url: str
    chat: PersonalChat


@pytest.fixture
def microsoft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Microsoft]:
    tokens = TeamsTokens()
    tokens.register_app(APP_ID, APP_PASSWORD)
    connector = TeamsConnector(tokens, APP_ID)
    with (
        serve_in_thread(slack_app(SlackWorkspace())) as slack_server,
        serve_in_thread(tokens_app(tokens)) as tokens_server,
        serve_in_thread(connector_app(connector)) as connector_server,
    ):
        environment = app_environment(
            slack_url=slack_server.url,
            stripe_url="http://127.0.0.1:9",
            sqlite_path=tmp_path / "s.db",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            TEAMS_APP_ID=APP_ID,
            TEAMS_APP_PASSWORD=APP_PASSWORD,
            TEAMS_LOGIN_URL=tokens_server.url,
            TEAMS_OPENID_METADATA_URL=f"{tokens_server.url}{OPENID_PATH}",
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handlers.aws_lambda, "_container", None)  # a cold container
        chat = connector.open_personal_chat(new_tenant_id(), PERSON)
        yield Microsoft(tokens, connector, f"{connector_server.url}/", chat)


def event(microsoft: Microsoft, text: str, token: str | None = None) -> dict[str, Any]:
    activity = personal_message(microsoft.chat, service_url=microsoft.service_url, text=text)
    bearer = (
        token if token is not None else microsoft.tokens.mint_inbound(APP_ID, microsoft.service_url)
    )
    return {
        "version": "2.0",
        "routeKey": "POST /api/messages",
        "rawPath": "/api/messages",
        "headers": {"content-type": "application/json", "authorization": f"Bearer {bearer}"},
        "requestContext": {"http": {"method": "POST", "path": "/api/messages"}},
        "body": json.dumps(activity),
        "isBase64Encoded": False,
    }


def test_an_activity_is_answered_in_the_chat_through_the_lambda_entry(microsoft: Microsoft) -> None:
    answer = handlers.aws_lambda.handler(event(microsoft, "status"), LambdaContext())

    assert answer["statusCode"] == 200
    (reply,) = microsoft.connector.activities(microsoft.chat.conversation_id)
    assert "No payment in progress" in words(reply)


def test_a_forged_activity_is_refused_on_lambda(microsoft: Microsoft) -> None:
    forged = microsoft.tokens.mint_inbound(APP_ID, microsoft.service_url, foreign_key=True)

    answer = handlers.aws_lambda.handler(event(microsoft, "status", forged), LambdaContext())

    assert answer["statusCode"] == 401
    assert microsoft.connector.activities(microsoft.chat.conversation_id) == []
