"""The HTTP edges hold against what no client should send, and against settings that would
quietly take card numbers: a clear refusal every time, never a 500, a hung thread or a modal.

Both runtimes: the served app (`python -m bot serve`) over real sockets, and the Lambda
entry `handlers.aws_lambda.handler` fed API Gateway events.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import stripe

import handlers.aws_lambda
from bot.adapters.stripe_checkout import PAGE_LIFETIME_SECONDS
from bot.settings import HOSTED_PAGE_SECONDS, SettingsError, load_settings
from emulator import driver, slack_requests
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from handlers import server
from handlers.bootstrap import build
from tests.integration import harness
from tests.integration.harness import (
    SIGNING_SECRET,
    WEBHOOK_SECRET,
    Paybot,
    app_environment,
    running_paybot,
)
from tests.security.rig import RecordedLogs, logging_restored

NON_ASCII_SIGNATURE = "v0=" + "\u00e9" * 64
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:paybot-AbCdEf"


@dataclass
class LambdaContext:
    function_name: str = "paybot-edges-slack"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:paybot-edges-slack"


def pay(workspace: SlackWorkspace, text: str = "") -> slack_requests.SlackRequest:
    return driver.pay(workspace, DEFAULT_USER_ID, text)


def http_api_event(
    request: slack_requests.SlackRequest, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    sent = headers if headers is not None else request.headers(SIGNING_SECRET)
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "headers": {k.lower(): v for k, v in sent.items()},
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": request.body.decode(),
        "isBase64Encoded": False,
    }


def old_rest_api_event(request: slack_requests.SlackRequest) -> dict[str, Any]:
    """A REST API (v1) proxy event as older API Gateway samples show it: no isBase64Encoded."""
    headers = request.headers(SIGNING_SECRET)
    return {
        "resource": "/slack/events",
        "path": "/slack/events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "requestContext": {"httpMethod": "POST", "path": "/dev/slack/events"},
        "body": request.body.decode(),
    }


def stripe_webhook_event(body: bytes, signature: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": "/stripe/webhook",
        "headers": {"content-type": "application/json", "stripe-signature": signature},
        "requestContext": {"http": {"method": "POST", "path": "/stripe/webhook"}},
        "body": body.decode(),
        "isBase64Encoded": False,
    }


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackWorkspace]:
    """A cold Lambda container configured by environment, Slack emulated, logging restored."""
    workspace = SlackWorkspace()
    with serve_in_thread(slack_app(workspace)) as slack_server, logging_restored():
        environment = app_environment(
            slack_url=slack_server.url,
            stripe_url="http://127.0.0.1:9",
            sqlite_path=tmp_path / "s.db",
            STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
            LOG_LEVEL="INFO",
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handlers.aws_lambda, "_container", None)
        yield workspace


@pytest.fixture
def served_with_webhooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    """The served app with Stripe's webhook configured, and a 1 s request timeout."""
    monkeypatch.setattr(harness, "make", functools.partial(server.make, request_timeout=1.0))
    with running_paybot(tmp_path, monkeypatch, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET) as paybot:
        yield paybot


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def raw_exchange(url: str, head: str, body: bytes, *, wait: float = 5.0) -> str:
    """Send `head` and `body` as they are on a socket kept open; the status line, or ""."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as connection:
        connection.sendall(head.encode("latin-1") + b"\r\n" + body)
        try:
            answer = connection.recv(4096)
        except TimeoutError:
            return ""
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def slack_head(length: str) -> str:
    return (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
    )


# --- signatures that cannot even be compared ---------------------------------------------


def test_a_non_ascii_slack_signature_is_refused_with_401_and_no_traceback_when_served(
    served_with_webhooks: Paybot, capfd: pytest.CaptureFixture[str]
) -> None:
    request = slack_requests.url_verification()
    headers = {**request.headers(SIGNING_SECRET), "X-Slack-Signature": NON_ASCII_SIGNATURE}
    status, _ = post(f"{served_with_webhooks.url}/slack/events", request.body, headers)
    assert status == 401
    assert "Traceback" not in capfd.readouterr().err


def test_a_non_ascii_stripe_signature_is_refused_with_400_and_no_traceback_when_served(
    served_with_webhooks: Paybot, capfd: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps({"id": "evt_1", "type": "checkout.session.completed"}).encode()
    headers = {"Content-Type": "application/json", "Stripe-Signature": f"t=1,v1={'é' * 64}"}
    status, _ = post(f"{served_with_webhooks.url}/stripe/webhook", body, headers)
    assert status == 400
    assert "Traceback" not in capfd.readouterr().err


def test_a_non_ascii_slack_signature_is_refused_with_401_on_lambda(
    workspace: SlackWorkspace,
) -> None:
    request = pay(workspace, "help")
    headers = {**request.headers(SIGNING_SECRET), "X-Slack-Signature": NON_ASCII_SIGNATURE}
    response = handlers.aws_lambda.handler(http_api_event(request, headers), LambdaContext())
    assert response["statusCode"] == 401
    assert workspace.calls == []


def test_a_non_ascii_stripe_signature_is_refused_with_400_on_lambda(
    workspace: SlackWorkspace,
) -> None:
    body = json.dumps({"id": "evt_1", "type": "checkout.session.completed"}).encode()
    event = stripe_webhook_event(body, f"t={int(time.time())},v1={'é' * 64}")
    assert handlers.aws_lambda.handler(event, LambdaContext())["statusCode"] == 400


def test_a_genuine_stripe_signature_is_still_accepted_on_lambda(workspace: SlackWorkspace) -> None:
    body = json.dumps({"id": "evt_2", "type": "customer.created", "data": {"object": {}}})
    signature = stripe.WebhookSignature.generate_signature_header(
        body, WEBHOOK_SECRET, timestamp=int(time.time())
    )
    response = handlers.aws_lambda.handler(
        stripe_webhook_event(body.encode(), signature), LambdaContext()
    )
    assert (response["statusCode"], response["body"]) == (200, "ignored")


# --- bodies: their length is checked before they are read --------------------------------


def test_a_content_length_that_is_not_a_number_gets_400(served_with_webhooks: Paybot) -> None:
    assert " 400 " in raw_exchange(served_with_webhooks.url, slack_head("abc"), b"{}")


def test_a_negative_content_length_gets_400_at_once(served_with_webhooks: Paybot) -> None:
    assert " 400 " in raw_exchange(served_with_webhooks.url, slack_head("-1"), b"{}")


def test_a_body_shorter_than_its_content_length_times_out_instead_of_holding_a_thread(
    served_with_webhooks: Paybot,
) -> None:
    status = raw_exchange(served_with_webhooks.url, slack_head("100"), b"{}", wait=5.0)
    assert " 408 " in status, status or "no answer: the thread is still waiting for the body"


@pytest.mark.parametrize("path", ["/slack/events", "/stripe/webhook"])
def test_an_unsigned_200_mib_body_is_refused_with_413_before_it_is_read(
    served_with_webhooks: Paybot, path: str
) -> None:
    head = slack_head(str(200 * 1024 * 1024)).replace("/slack/events", path)
    started = time.monotonic()
    status = raw_exchange(served_with_webhooks.url, head, b"x" * 65536)
    assert " 413 " in status, status or "no answer: the server is waiting for 200 MiB"
    assert time.monotonic() - started < 3


def test_an_oversized_body_is_refused_with_413_on_lambda(workspace: SlackWorkspace) -> None:
    request = slack_requests.message_im_event(
        user_id=DEFAULT_USER_ID, channel_id="D0PAYBOT", text="x" * (5 * 1024 * 1024)
    )
    response = handlers.aws_lambda.handler(http_api_event(request), LambdaContext())
    assert response["statusCode"] == 413
    assert workspace.calls == []


def test_a_genuine_request_is_still_answered_when_served(served_with_webhooks: Paybot) -> None:
    answer = served_with_webhooks.pay("help")
    assert answer.status == 200
    assert "/pay 45 USD INV-1001" in answer.body


# --- REST API (v1) events as older samples show them -------------------------------------


def test_the_url_handshake_is_answered_from_a_rest_event_without_is_base64_encoded(
    workspace: SlackWorkspace,
) -> None:
    request = slack_requests.url_verification("challenge-from-slack")
    response = handlers.aws_lambda.handler(old_rest_api_event(request), LambdaContext())
    assert response["statusCode"] == 200
    assert "challenge-from-slack" in response["body"]


def test_pay_help_is_answered_from_a_rest_event_without_is_base64_encoded(
    workspace: SlackWorkspace,
) -> None:
    response = handlers.aws_lambda.handler(
        old_rest_api_event(pay(workspace, "help")), LambdaContext()
    )
    assert response["statusCode"] == 200
    assert "/pay 45 USD INV-1001" in response["body"]


# --- hosted card entry never falls back to taking card numbers ---------------------------


@pytest.fixture
def hosted_secret_without_webhook_secret(
    workspace: SlackWorkspace, moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> SlackWorkspace:
    """CARD_ENTRY=hosted on Lambda, keys in the secret, and no webhook secret anywhere."""
    client = boto3.client("secretsmanager", endpoint_url=moto_reset, region_name="us-east-1")
    keys = {
        "SLACK_BOT_TOKEN": "xoxb-emulator-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "STRIPE_SECRET_KEY": "sk_test_paybot",
    }
    arn = client.create_secret(Name="paybot/hosted", SecretString=json.dumps(keys))["ARN"]
    monkeypatch.setenv("SECRETS_ARN", arn)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_reset)
    monkeypatch.setenv("CARD_ENTRY", "hosted")
    monkeypatch.delenv("STRIPE_WEBHOOK_SECRET")
    return workspace


def test_hosted_entry_without_a_webhook_secret_answers_503_on_lambda_and_never_opens_the_modal(
    hosted_secret_without_webhook_secret: SlackWorkspace,
) -> None:
    workspace = hosted_secret_without_webhook_secret
    handlers.aws_lambda._current()  # the cold start configures logging; record after it
    recorded = RecordedLogs()
    logging.getLogger().addHandler(recorded)
    answers = [
        handlers.aws_lambda.handler(http_api_event(pay(workspace)), LambdaContext())["statusCode"]
        for _ in range(3)
    ]
    assert answers == [503, 503, 503]
    assert workspace.views(DEFAULT_USER_ID) == []
    operator_lines = [r for r in recorded.records if r.levelname == "ERROR"]
    assert len(operator_lines) == 1, recorded.lines()
    assert "STRIPE_WEBHOOK_SECRET" in operator_lines[0].getMessage()
    assert operator_lines[0].exc_info is None


def test_hosted_entry_without_a_webhook_secret_is_a_start_up_error_when_served(
    tmp_path: Path,
) -> None:
    environment = app_environment(
        slack_url="http://127.0.0.1:9",
        stripe_url="http://127.0.0.1:9",
        sqlite_path=tmp_path / "s.db",
        CARD_ENTRY="hosted",
        SECRETS_ARN=SECRET_ARN,  # `serve` reads no secret: it cannot excuse a missing key
        LOG_LEVEL="INFO",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_merged_settings_without_the_webhook_secret_are_refused_by_name() -> None:
    environ = {"CARD_ENTRY": "hosted", "SECRETS_ARN": SECRET_ARN}
    load_settings(environ)  # before the secret is merged, it may still bring the key
    with pytest.raises(SettingsError, match="STRIPE_WEBHOOK_SECRET"):
        load_settings({**environ, "SLACK_BOT_TOKEN": "xoxb-1"}, secret_merged=True)


def test_the_wiring_refuses_hosted_entry_without_a_webhook_secret(tmp_path: Path) -> None:
    settings = load_settings(
        {"CARD_ENTRY": "hosted", "SECRETS_ARN": SECRET_ARN, "SQLITE_PATH": str(tmp_path / "s")}
    )
    with pytest.raises(SettingsError, match="STRIPE_WEBHOOK_SECRET"):
        build(settings)


# --- sessions outlive the hosted pages they track ---------------------------------------


def test_the_hosted_page_lifetime_in_settings_is_the_adapters_lifetime_and_margin() -> None:
    assert HOSTED_PAGE_SECONDS == PAGE_LIFETIME_SECONDS + 60


@pytest.mark.parametrize(
    "environ",
    [
        {"CARD_ENTRY": "hosted", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET},
        {"CARD_ENTRY": "modal", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET},  # the fallback page
        {"CARD_ENTRY": "hosted", "SECRETS_ARN": SECRET_ARN},
    ],
    ids=["hosted", "modal with the fallback page", "hosted, secret not merged yet"],
)
def test_a_session_ttl_shorter_than_a_hosted_page_is_refused_by_name(
    environ: dict[str, str],
) -> None:
    with pytest.raises(SettingsError, match="SESSION_TTL_SECONDS"):
        load_settings({**environ, "SESSION_TTL_SECONDS": "300"})


def test_a_webhook_secret_from_the_secret_makes_a_short_session_ttl_refused() -> None:
    environ = {"SECRETS_ARN": SECRET_ARN, "SESSION_TTL_SECONDS": "300"}
    load_settings(environ)
    merged = {**environ, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
    with pytest.raises(SettingsError, match="SESSION_TTL_SECONDS"):
        load_settings(merged, secret_merged=True)


def test_a_short_session_ttl_is_accepted_where_no_hosted_page_can_be_opened() -> None:
    assert load_settings({"SESSION_TTL_SECONDS": "300"}).SESSION_TTL_SECONDS == 300


def test_a_session_ttl_as_long_as_a_hosted_page_is_accepted() -> None:
    environ = {"CARD_ENTRY": "hosted", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
    ttl = str(HOSTED_PAGE_SECONDS)
    assert load_settings({**environ, "SESSION_TTL_SECONDS": ttl}).CARD_ENTRY == "hosted"
