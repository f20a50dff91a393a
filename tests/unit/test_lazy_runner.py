"""The Lambda lazy runner refuses, a second time, any request that carries card data."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt import BoltRequest

from handlers.slack.lazy import ContainedLazyRunner, carries_card_data

PAN = "4242 4242 4242 4242"


class RecordingLambda:
    def __init__(self) -> None:
        self.invoked: list[str] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: str) -> dict[str, Any]:
        self.invoked.append(FunctionName)
        return {"StatusCode": 202}


def request(body: dict[str, Any], arn: str) -> BoltRequest:
    bolt = BoltRequest(body=body, headers={}, mode="socket_mode")
    bolt.context["lambda_request"] = {"headers": {}, "body": ""}
    bolt.context["aws_lambda_invoked_function_arn"] = arn
    bolt.lazy_function_name = "answer_later"
    return bolt


@pytest.mark.parametrize(
    "body",
    [
        {"type": "view_submission", "view": {}},
        {"type": "event_callback", "event": {"text": f"card {PAN}"}},
        {"command": "/pay", "text": f"45 USD {PAN}"},
        {"type": "block_actions", "actions": [{"value": PAN}]},
    ],
)
def test_requests_with_card_data_are_never_deferred(body: dict[str, Any]) -> None:
    assert carries_card_data(body)
    lambda_client = RecordingLambda()
    runner = ContainedLazyRunner(__import__("logging").getLogger("t"), lambda_client)
    runner.start(lambda: None, request(body, "arn:aws:lambda:us-east-1:123456789012:function:f"))
    assert lambda_client.invoked == []


def test_a_plain_message_is_deferred_to_the_invoked_function() -> None:
    lambda_client = RecordingLambda()
    runner = ContainedLazyRunner(__import__("logging").getLogger("t"), lambda_client)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:paybot-prod-slack:live"
    runner.start(lambda: None, request({"event": {"text": "hi"}}, arn))
    assert lambda_client.invoked == [arn]


def test_a_placeholder_arn_falls_back_to_the_function_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "paybot-test-slack")
    lambda_client = RecordingLambda()
    runner = ContainedLazyRunner(__import__("logging").getLogger("t"), lambda_client)
    runner.start(lambda: None, request({"event": {"text": "hi"}}, "arn:aws:lambda:serverless:Fake"))
    assert lambda_client.invoked == ["paybot-test-slack"]
