"""A turn that waits on the model is answered after the request, within Teams' time budget.

Served, the reply comes from a task of the process's event loop; on Lambda, from a second,
asynchronous invocation of the function with the same request (never one that holds card
data). Either way the request is answered at once and Teams shows "typing" meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import handlers.aws_lambda
from emulator import bedrock_api
from emulator.bedrock_api import BedrockEmulator
from emulator.server import serve_in_thread
from handlers.teams.app import DEFERRED_HEADER
from tests.integration.teams.harness import APP_ID, TeamsPaybot, running_teams, words
from tests.integration.test_lambda_lazy import InvokeCapture

MODEL_SAYS = "What are you paying, and for which invoice?"
SLOW = bedrock_api.DelayReply(
    2.0, bedrock_api.tool_use("decide", {"reply": MODEL_SAYS, "next_step": "ask", "intent": "pay"})
)


def messages(teams: TeamsPaybot) -> list[dict[str, Any]]:
    return [a for a in teams.posted() if a.get("type") == "message"]


def typing_sent(teams: TeamsPaybot) -> bool:
    return any(
        entry.body and entry.body.get("type") == "typing" for entry in teams.connector.requests
    )


@pytest.fixture
def bedrock() -> BedrockEmulator:
    return BedrockEmulator(default_reply=SLOW)


def test_served_a_slow_model_turn_is_answered_after_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bedrock: BedrockEmulator
) -> None:
    with running_teams(tmp_path, monkeypatch, bedrock=bedrock) as teams:
        assert teams.say("I have a bill to settle").status == 200
        assert messages(teams) == []  # answered before the model has: the reply comes later
        assert typing_sent(teams)

        teams.wait_until(lambda: len(messages(teams)) == 1)
        assert MODEL_SAYS in words(messages(teams)[0])


def test_served_a_card_number_is_answered_within_the_request_without_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bedrock: BedrockEmulator
) -> None:
    with running_teams(tmp_path, monkeypatch, bedrock=bedrock) as teams:
        assert teams.say("my card is 4242 4242 4242 4242").status == 200
        (reply,) = messages(teams)  # already there: the fast engine answered it
        assert "don't paste card numbers" in words(reply)
        assert bedrock.requests == []


@pytest.fixture
def invokes(monkeypatch: pytest.MonkeyPatch) -> Iterator[InvokeCapture]:
    capture = InvokeCapture()
    with serve_in_thread(capture.app()) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.url)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "paybot-dev-slack")
        yield capture


class Context:
    function_name = "paybot-dev-slack"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:paybot-dev-slack"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def lambda_event(teams: TeamsPaybot, activity: dict[str, Any]) -> dict[str, Any]:
    token = teams.tokens.mint_inbound(APP_ID, teams.service_url)
    return {
        "version": "2.0",
        "routeKey": "POST /api/messages",
        "rawPath": "/api/messages",
        "headers": {"content-type": "application/json", "authorization": f"Bearer {token}"},
        "requestContext": {"http": {"method": "POST", "path": "/api/messages"}},
        "body": json.dumps(activity),
        "isBase64Encoded": False,
    }


@pytest.fixture
def on_lambda(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bedrock: BedrockEmulator,
    invokes: InvokeCapture,
) -> Iterator[TeamsPaybot]:
    with running_teams(tmp_path, monkeypatch, bedrock=bedrock) as teams:
        # The Lambda entry reads the same settings from its environment.
        for name, value in teams.environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handlers.aws_lambda, "_container", None)
        yield teams


def test_on_lambda_a_slow_turn_is_answered_by_a_second_invocation(
    on_lambda: TeamsPaybot, invokes: InvokeCapture
) -> None:
    event = lambda_event(on_lambda, on_lambda.message(text="I have a bill to settle"))

    first = handlers.aws_lambda.handler(event, Context())

    assert first["statusCode"] == 200
    assert messages(on_lambda) == []
    (resent,) = invokes.payloads
    assert resent["headers"][DEFERRED_HEADER] == "1"
    assert resent["body"] == event["body"]
    assert invokes.functions == [Context.invoked_function_arn]  # the ARN it was called by

    second = handlers.aws_lambda.handler(resent, Context())

    assert second["statusCode"] == 200
    (reply,) = messages(on_lambda)
    assert MODEL_SAYS in words(reply)


def test_with_snapstart_the_second_invocation_goes_to_the_alias_too(
    on_lambda: TeamsPaybot, invokes: InvokeCapture
) -> None:
    class ByAlias(Context):
        invoked_function_arn = f"{Context.invoked_function_arn}:snapstart"

    event = lambda_event(on_lambda, on_lambda.message(text="I have a bill to settle"))
    assert handlers.aws_lambda.handler(event, ByAlias())["statusCode"] == 200
    assert invokes.functions == [ByAlias.invoked_function_arn]


@pytest.mark.parametrize("where", ["text", "display name", "card data", "mention"])
def test_on_lambda_a_request_with_a_card_number_is_never_re_sent(
    on_lambda: TeamsPaybot, invokes: InvokeCapture, where: str
) -> None:
    activity = on_lambda.message(text="my card is 4242 4242 4242 4242")
    if where != "text":
        activity = on_lambda.message(text="hello there")
    if where == "display name":
        activity["from"]["name"] = "4242 4242 4242 4242"
    elif where == "card data":
        activity["value"] = {"note": "4242 4242 4242 4242"}
    elif where == "mention":
        mentioned = {"id": on_lambda.chat.bot_id, "name": "4242 4242 4242 4242"}
        mention = {
            "type": "mention",
            "text": "<at>4242 4242 4242 4242</at>",
            "mentioned": mentioned,
        }
        activity["entities"].append(mention)

    answer = handlers.aws_lambda.handler(lambda_event(on_lambda, activity), Context())

    assert answer["statusCode"] == 200
    assert invokes.payloads == []
    assert len(messages(on_lambda)) == 1


def test_a_forged_deferral_header_gets_no_further_than_its_token(
    on_lambda: TeamsPaybot, invokes: InvokeCapture
) -> None:
    event = lambda_event(on_lambda, on_lambda.message(text="I have a bill"))
    event["headers"][DEFERRED_HEADER] = "1"
    event["headers"]["authorization"] = "Bearer " + on_lambda.tokens.mint_inbound(
        APP_ID, on_lambda.service_url, foreign_key=True
    )

    assert handlers.aws_lambda.handler(event, Context())["statusCode"] == 401
    assert on_lambda.posted() == []
