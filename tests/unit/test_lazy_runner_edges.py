"""The lazy runner's edges: a closed modal, the refusal's log line, a missing ARN."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from slack_bolt import BoltRequest

from handlers.slack.lazy import ContainedLazyRunner, carries_card_data


class RecordingLambda:
    def __init__(self) -> None:
        self.invoked: list[dict[str, Any]] = []

    def invoke(self, **call: Any) -> dict[str, Any]:
        self.invoked.append(call)
        return {"StatusCode": 202}


def request(body: dict[str, Any], arn: str | None) -> BoltRequest:
    bolt = BoltRequest(body=body, headers={}, mode="socket_mode")
    bolt.context["lambda_request"] = {"headers": {}, "body": ""}
    if arn is not None:
        bolt.context["aws_lambda_invoked_function_arn"] = arn
    return bolt


def answer_later() -> None:
    """A lazy listener."""


def test_a_closed_card_modal_counts_as_card_data() -> None:
    assert carries_card_data({"type": "view_closed", "view": {}})


def test_a_refused_deferral_is_logged_as_an_error_without_the_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = ContainedLazyRunner(logging.getLogger("t"), RecordingLambda())  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR, logger="handlers.slack.lazy"):
        runner.start(answer_later, request({"type": "view_submission", "view": {}}, None))

    assert [r.getMessage() for r in caplog.records] == [
        "refused to defer a request that carries card data; it was not re-sent"
    ]


def test_without_an_arn_or_a_function_name_the_invocation_names_no_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    lambda_client = RecordingLambda()
    runner = ContainedLazyRunner(logging.getLogger("t"), lambda_client)  # type: ignore[arg-type]

    runner.start(answer_later, request({"event": {"text": "hi"}}, None))

    assert [call["FunctionName"] for call in lambda_client.invoked] == [""]
