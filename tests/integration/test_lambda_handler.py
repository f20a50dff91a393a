"""The Lambda entry serves the same app for API Gateway HTTP API (v2) and REST (v1) events."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe

import handlers.aws_lambda
from emulator import driver, slack_requests
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from handlers.slack.blocks import CARD_FORM
from tests.integration.harness import SIGNING_SECRET, WEBHOOK_SECRET, app_environment


@dataclass
class LambdaContext:
    function_name: str = "paybot-dev-slack"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:paybot-dev-slack"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    with serve_in_thread(slack_app(workspace)) as server:
        environment = app_environment(
            slack_url=server.url,
            stripe_url="http://127.0.0.1:9",
            sqlite_path=tmp_path / "s.db",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handlers.aws_lambda, "_container", None)  # a cold container
        yield workspace


def http_api_event(request: slack_requests.SlackRequest) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in request.headers(SIGNING_SECRET).items()}
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": request.body.decode(),
        "isBase64Encoded": False,
    }


def rest_api_event(request: slack_requests.SlackRequest) -> dict[str, Any]:
    headers = request.headers(SIGNING_SECRET)
    return {
        "resource": "/slack/events",
        "path": "/slack/events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {"httpMethod": "POST", "path": "/dev/slack/events"},
        "body": base64.b64encode(request.body).decode(),
        "isBase64Encoded": True,
    }


def pay(workspace: SlackWorkspace, text: str = "") -> slack_requests.SlackRequest:
    return driver.pay(workspace, DEFAULT_USER_ID, text)


@pytest.mark.parametrize("shape", [http_api_event, rest_api_event])
def test_pay_help_is_answered_through_either_event_shape(
    workspace: SlackWorkspace, shape: Any
) -> None:
    response = handlers.aws_lambda.handler(shape(pay(workspace, "help")), LambdaContext())
    assert response["statusCode"] == 200
    assert "/pay 45 USD INV-1001" in response["body"]


def test_pay_opens_the_card_form_on_lambda(workspace: SlackWorkspace) -> None:
    response = handlers.aws_lambda.handler(http_api_event(pay(workspace, "")), LambdaContext())
    assert response["statusCode"] == 200
    assert [v["callback_id"] for v in workspace.views(DEFAULT_USER_ID)] == [CARD_FORM]


def test_a_forged_request_is_refused_on_lambda(workspace: SlackWorkspace) -> None:
    event = http_api_event(pay(workspace, "help"))
    event["headers"]["x-slack-signature"] = "v0=" + "0" * 64
    response = handlers.aws_lambda.handler(event, LambdaContext())
    assert response["statusCode"] == 401
    assert workspace.calls == []


def stripe_event(body: bytes, signature: str, *, base64_body: bool) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "POST /stripe/webhook",
        "rawPath": "/stripe/webhook",
        "headers": {"content-type": "application/json", "stripe-signature": signature},
        "requestContext": {"http": {"method": "POST", "path": "/stripe/webhook"}},
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


@pytest.mark.parametrize("base64_body", [True, False])
def test_a_signed_stripe_webhook_is_verified_on_the_raw_body(
    workspace: SlackWorkspace, base64_body: bool
) -> None:
    body = json.dumps({"id": "evt_1", "type": "customer.created", "data": {"object": {}}})
    signature = stripe.WebhookSignature.generate_signature_header(
        body, WEBHOOK_SECRET, timestamp=int(time.time())
    )
    event = stripe_event(body.encode(), signature, base64_body=base64_body)
    response = handlers.aws_lambda.handler(event, LambdaContext())
    assert (response["statusCode"], response["body"]) == (200, "ignored")


def test_a_badly_signed_stripe_webhook_gets_400_on_lambda(workspace: SlackWorkspace) -> None:
    body = b'{"id": "evt_1", "type": "checkout.session.completed"}'
    event = stripe_event(body, "t=1,v1=" + "0" * 64, base64_body=True)
    assert handlers.aws_lambda.handler(event, LambdaContext())["statusCode"] == 400


def test_the_return_page_is_served_on_lambda(workspace: SlackWorkspace) -> None:
    event = {
        "version": "2.0",
        "rawPath": "/stripe/return",
        "queryStringParameters": {"team": "T0EMULATOR", "app": "A0EMULATOR"},
        "requestContext": {"http": {"method": "GET", "path": "/stripe/return"}},
        "headers": {},
        "isBase64Encoded": False,
    }
    response = handlers.aws_lambda.handler(event, LambdaContext())
    assert response["statusCode"] == 200
    assert "app_redirect?app=A0EMULATOR" in response["body"]


def plain_event(method: str, path: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "requestContext": {"http": {"method": method, "path": path}},
        "headers": {},
        "isBase64Encoded": False,
    }


def test_the_lambda_serves_the_route_table_the_server_serves(workspace: SlackWorkspace) -> None:
    answers = {
        (method, path): handlers.aws_lambda.handler(plain_event(method, path), LambdaContext())
        for method, path in [
            ("GET", "/health"),
            ("GET", "/slack/events"),
            ("GET", "/stripe/webhook"),
            ("POST", "/stripe/return"),
            ("POST", "/nowhere"),
        ]
    }
    assert answers[("GET", "/health")]["statusCode"] == 200
    assert answers[("GET", "/health")]["body"] == "ok"
    assert {key: a["statusCode"] for key, a in answers.items() if key[1] != "/health"} == {
        ("GET", "/slack/events"): 404,
        ("GET", "/stripe/webhook"): 404,
        ("POST", "/stripe/return"): 404,
        ("POST", "/nowhere"): 404,
    }
