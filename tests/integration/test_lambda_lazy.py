"""On Lambda, lazy work re-invokes the function with the whole raw request: it must never
carry card data. Every invoke payload is captured and searched."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiohttp import web

import handlers.aws_lambda
from bot.cards import contains_pan
from emulator import slack_requests
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, GENERAL_CHANNEL_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from emulator.stripe_api import StripeEmulator
from emulator.stripe_api import create_app as stripe_app
from handlers.slack.blocks import CARD_FORM
from tests.integration.harness import SIGNING_SECRET, app_environment

PAN = "4242 4242 4242 4242"
PAN_DIGITS = PAN.replace(" ", "")


@dataclass
class LambdaContext:
    function_name: str = "paybot-test-slack"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:paybot-test-slack"


@dataclass
class InvokeCapture:
    """Lambda's Invoke API on loopback: records every payload, runs nothing."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    """The FunctionName of each invocation, as Lambda's API got it."""

    def app(self) -> web.Application:
        async def invoke(request: web.Request) -> web.Response:
            self.payloads.append(json.loads(await request.read()))
            self.functions.append(request.match_info["name"])
            return web.json_response({}, status=202)

        app = web.Application()
        app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
        return app


@dataclass
class Lambda:
    slack: SlackWorkspace
    stripe: StripeEmulator
    invokes: InvokeCapture

    def call(self, request: slack_requests.SlackRequest) -> dict[str, Any]:
        headers = {k.lower(): v for k, v in request.headers(SIGNING_SECRET).items()}
        event = {
            "version": "2.0",
            "routeKey": "POST /slack/events",
            "rawPath": "/slack/events",
            "headers": headers,
            "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
            "body": request.body.decode(),
            "isBase64Encoded": False,
        }
        return handlers.aws_lambda.handler(event, LambdaContext())

    def run_lazy_invocations(self) -> None:
        for payload in list(self.invokes.payloads):
            handlers.aws_lambda.handler(payload, LambdaContext())

    @property
    def dm(self) -> str:
        return self.slack.dm_channel(DEFAULT_USER_ID)

    def dm_event(self, text: str) -> slack_requests.SlackRequest:
        return slack_requests.message_im_event(
            user_id=DEFAULT_USER_ID, channel_id=self.dm, text=text
        )


@pytest.fixture
def on_lambda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lambda]:
    workspace, stripe, invokes = SlackWorkspace(), StripeEmulator(), InvokeCapture()
    with (
        serve_in_thread(slack_app(workspace)) as slack_server,
        serve_in_thread(stripe_app(stripe)) as stripe_server,
        serve_in_thread(invokes.app()) as lambda_server,
    ):
        environment = app_environment(
            slack_url=slack_server.url,
            stripe_url=stripe_server.url,
            sqlite_path=tmp_path / "sessions.db",
            AWS_ENDPOINT_URL_LAMBDA=lambda_server.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handlers.aws_lambda, "_container", None)
        yield Lambda(workspace, stripe, invokes)


def bot_replies(on_lambda: Lambda) -> list[dict[str, Any]]:
    return [m for m in on_lambda.slack.messages(on_lambda.dm) if m.get("bot_id")]


def test_a_plain_dm_is_answered_by_a_lazy_reinvocation(on_lambda: Lambda) -> None:
    assert on_lambda.call(on_lambda.dm_event("hi"))["statusCode"] == 200
    assert len(on_lambda.invokes.payloads) == 1
    assert bot_replies(on_lambda) == []  # acked first; the reply comes from the re-invocation
    on_lambda.run_lazy_invocations()
    assert len(bot_replies(on_lambda)) == 1


def test_a_dm_with_a_card_number_is_answered_without_any_lazy_invoke(on_lambda: Lambda) -> None:
    on_lambda.call(on_lambda.dm_event(f"my card is {PAN}"))
    assert on_lambda.invokes.payloads == []
    (reply,) = bot_replies(on_lambda)
    assert "secure button" in reply["text"]


def test_a_card_submission_never_becomes_a_lazy_invoke(on_lambda: Lambda) -> None:
    on_lambda.call(
        slack_requests.slash_command(
            text="",
            user_id=DEFAULT_USER_ID,
            channel_id=GENERAL_CHANNEL_ID,
            trigger_id=on_lambda.slack.issue_trigger_id(user_id=DEFAULT_USER_ID),
        )
    )
    (form,) = [v for v in on_lambda.slack.views(DEFAULT_USER_ID) if v["callback_id"] == CARD_FORM]
    card = {"name": "Ada Lovelace", "number": PAN, "expiry": "08/30", "cvc": "123"}
    request = slack_requests.view_submission(
        view=form, values=card, user_id=DEFAULT_USER_ID, trigger_id="1.2.3"
    )
    response = on_lambda.call(request)
    assert json.loads(response["body"])["response_action"] == "update"
    assert len(on_lambda.stripe.payment_methods) == 1
    assert on_lambda.invokes.payloads == []


def test_no_invoke_payload_ever_holds_a_card_number(on_lambda: Lambda) -> None:
    for text in ("hi", f"card {PAN}", "pay invoice INV-1 $5", f"{PAN.replace(' ', '-')} ok"):
        on_lambda.call(on_lambda.dm_event(text))
    on_lambda.call(
        slack_requests.slash_command(
            text=f"45 USD {PAN}",
            user_id=DEFAULT_USER_ID,
            channel_id=GENERAL_CHANNEL_ID,
            trigger_id=on_lambda.slack.issue_trigger_id(user_id=DEFAULT_USER_ID),
        )
    )
    assert len(on_lambda.invokes.payloads) == 2  # the two messages without a card number
    for payload in on_lambda.invokes.payloads:
        # Slack's own ids and timestamps can look like card numbers; search for ours.
        assert PAN_DIGITS not in re.sub(r"[\s.\-+]|%20", "", json.dumps(payload))
        assert not contains_pan(str(json.loads(payload["body"])["event"]["text"]))


def destination_record(payload: dict[str, Any]) -> dict[str, Any]:
    """What Lambda sends the on-failure destination (serverless.yml's queue) when this lazy
    invocation fails, in the shape Lambda documents for asynchronous invocation records:
    the invocation's whole payload as `requestPayload`, the error as `responsePayload`."""
    return {
        "version": "1.0",
        "timestamp": "2026-12-05T12:00:00.000Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": f"{LambdaContext.invoked_function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1,
        },
        "requestPayload": payload,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": "Task timed out after 29.00 seconds",
            "errorType": "Sandbox.Timedout",
        },
    }


def test_a_failed_lazy_invocations_record_holds_no_card_data(on_lambda: Lambda) -> None:
    # Every way a card reaches the app over Slack, beside the plain turns that go lazy.
    texts = ("pay invoice INV-1 $5", f"card {PAN}", f"{PAN.replace(' ', '-')} ok", "thanks")
    for text in texts:
        on_lambda.call(on_lambda.dm_event(text))
    on_lambda.call(
        slack_requests.slash_command(
            text=f"45 USD {PAN}",
            user_id=DEFAULT_USER_ID,
            channel_id=GENERAL_CHANNEL_ID,
            trigger_id=on_lambda.slack.issue_trigger_id(user_id=DEFAULT_USER_ID),
        )
    )

    records = [destination_record(payload) for payload in on_lambda.invokes.payloads]

    assert len(records) == 2  # the turns without a card number, and only they
    for record in records:
        body = json.dumps(record)  # the queue message's body, as SQS would hold it
        assert PAN_DIGITS not in re.sub(r"[\s.\-+]|%20", "", body)
        said = json.loads(record["requestPayload"]["body"])["event"]["text"]
        assert said in ("pay invoice INV-1 $5", "thanks")


def test_keys_come_from_the_secret_when_secrets_arn_is_set(
    on_lambda: Lambda, moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("secretsmanager", endpoint_url=moto_reset, region_name="us-east-1")
    keys = {"SLACK_BOT_TOKEN": "xoxb-emulator-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    arn = client.create_secret(Name="paybot/lambda", SecretString=json.dumps(keys))["ARN"]
    monkeypatch.setenv("SECRETS_ARN", arn)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_reset)
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    response = on_lambda.call(
        slack_requests.slash_command(
            text="help",
            user_id=DEFAULT_USER_ID,
            channel_id=GENERAL_CHANNEL_ID,
            trigger_id=on_lambda.slack.issue_trigger_id(),
        )
    )
    assert response["statusCode"] == 200
    assert "/pay" in response["body"]
