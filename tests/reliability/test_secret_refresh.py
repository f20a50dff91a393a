"""Secrets Manager failing: the last good secret keeps the bot answering, retries back off,
a silent endpoint costs seconds not minutes, and a secret never read is a 503, not a crash."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

import handlers.aws_lambda
from bot.adapters.secrets_manager import CachedSecret, SecretUnavailable
from emulator import slack_requests
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, GENERAL_CHANNEL_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from tests.fakes import FakeClock
from tests.integration.harness import SIGNING_SECRET, app_environment
from tests.security.rig import RecordedLogs, logging_restored

VALUES = {"SLACK_BOT_TOKEN": "xoxb-emulator-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET}


class FlakyClient:
    """The real Secrets Manager client (on moto), made unreachable on demand; counts calls."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.down = False
        self.calls = 0

    def get_secret_value(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.down:
            raise EndpointConnectionError(endpoint_url="https://secretsmanager.invalid")
        return self.client.get_secret_value(**kwargs)


@dataclass
class LambdaContext:
    function_name: str = "paybot-secrets-slack"
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:paybot-secrets-slack"
    )


@pytest.fixture
def secrets_client(moto_reset: str) -> Any:
    return boto3.client("secretsmanager", endpoint_url=moto_reset, region_name="us-east-1")


@pytest.fixture
def secret_arn(secrets_client: Any) -> str:
    return str(
        secrets_client.create_secret(Name="paybot/refresh", SecretString=json.dumps(VALUES))["ARN"]
    )


@pytest.fixture
def flaky(secrets_client: Any) -> FlakyClient:
    return FlakyClient(secrets_client)


def test_a_failed_refresh_serves_the_last_good_value(flaky: FlakyClient, secret_arn: str) -> None:
    clock = FakeClock()
    secret = CachedSecret(secret_arn, client=flaky, max_age=300, clock=clock)  # type: ignore[arg-type]
    assert secret.get() == VALUES
    flaky.down, clock.now = True, clock.now + 300
    assert secret.get() == VALUES


def test_a_refresh_outage_is_logged_once(
    flaky: FlakyClient, secret_arn: str, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    secret = CachedSecret(secret_arn, client=flaky, max_age=300, clock=clock)  # type: ignore[arg-type]
    secret.get()
    flaky.down = True
    caplog.set_level(logging.INFO, logger="bot.adapters.secrets_manager")
    for _ in range(20):
        clock.now += 61  # past every backoff: each of these tries again, and fails
        secret.get()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "paybot/refresh" in warnings[0].getMessage()
    assert SIGNING_SECRET not in caplog.text


def test_refreshes_back_off_while_the_secret_is_unreachable(
    flaky: FlakyClient, secret_arn: str
) -> None:
    clock = FakeClock()
    secret = CachedSecret(secret_arn, client=flaky, max_age=300, clock=clock)  # type: ignore[arg-type]
    secret.get()
    flaky.down, clock.now = True, clock.now + 300
    secret.get()
    calls = flaky.calls
    for _ in range(100):  # a burst of requests right after the failure
        secret.get()
    assert flaky.calls == calls
    clock.now += 60
    secret.get()
    assert flaky.calls == calls + 1


def test_the_secret_is_read_again_once_it_is_reachable(
    flaky: FlakyClient, secret_arn: str, secrets_client: Any
) -> None:
    clock = FakeClock()
    secret = CachedSecret(secret_arn, client=flaky, max_age=300, clock=clock)  # type: ignore[arg-type]
    secret.get()
    flaky.down, clock.now = True, clock.now + 300
    secret.get()
    rotated = {**VALUES, "SLACK_BOT_TOKEN": "xoxb-rotated"}
    secrets_client.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(rotated))
    flaky.down, clock.now = False, clock.now + 60
    assert secret.get()["SLACK_BOT_TOKEN"] == "xoxb-rotated"


def test_a_secret_never_read_still_raises_for_its_caller(
    flaky: FlakyClient, secret_arn: str
) -> None:
    flaky.down = True
    with pytest.raises(SecretUnavailable, match="paybot/refresh"):
        CachedSecret(secret_arn, client=flaky, clock=FakeClock()).get()  # type: ignore[arg-type]


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_a_secrets_endpoint_that_never_answers_fails_within_seconds(
    silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", silent_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    started = time.monotonic()
    with pytest.raises(SecretUnavailable):
        CachedSecret("paybot/silent").get()
    assert time.monotonic() - started < 10  # botocore's defaults wait 60 s per attempt


# --- through the Lambda entry ------------------------------------------------------------


@pytest.fixture
def workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moto_reset: str, secret_arn: str
) -> Iterator[SlackWorkspace]:
    """A Lambda container whose Slack keys come only from the secret."""
    workspace = SlackWorkspace()
    with serve_in_thread(slack_app(workspace)) as server, logging_restored():
        environment = app_environment(
            slack_url=server.url,
            stripe_url="http://127.0.0.1:9",
            sqlite_path=tmp_path / "s.db",
            SECRETS_ARN=secret_arn,
            AWS_ENDPOINT_URL_SECRETS_MANAGER=moto_reset,
            LOG_LEVEL="INFO",
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("SLACK_BOT_TOKEN")
        monkeypatch.delenv("SLACK_SIGNING_SECRET")
        monkeypatch.setattr(handlers.aws_lambda, "_container", None)
        yield workspace


def pay_help(workspace: SlackWorkspace) -> dict[str, Any]:
    request = slack_requests.slash_command(
        text="help",
        user_id=DEFAULT_USER_ID,
        channel_id=GENERAL_CHANNEL_ID,
        trigger_id=workspace.issue_trigger_id(user_id=DEFAULT_USER_ID),
    )
    headers = {k.lower(): v for k, v in request.headers(SIGNING_SECRET).items()}
    return {
        "version": "2.0",
        "rawPath": "/slack/events",
        "headers": headers,
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": request.body.decode(),
        "isBase64Encoded": False,
    }


def test_the_lambda_entry_keeps_answering_while_the_secret_cannot_be_refreshed(
    workspace: SlackWorkspace,
    flaky: FlakyClient,
    secret_arn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    secret = CachedSecret(secret_arn, client=flaky, max_age=300, clock=clock)  # type: ignore[arg-type]
    container = handlers.aws_lambda.Container(dict(os.environ), secret=secret)
    monkeypatch.setattr(handlers.aws_lambda, "_container", container)
    recorded = RecordedLogs()
    logging.getLogger().addHandler(recorded)
    assert handlers.aws_lambda.handler(pay_help(workspace), LambdaContext())["statusCode"] == 200
    flaky.down = True
    answers = []
    for _ in range(5):
        clock.now += 301
        answers.append(
            handlers.aws_lambda.handler(pay_help(workspace), LambdaContext())["statusCode"]
        )
    assert answers == [200] * 5
    assert len([r for r in recorded.records if r.levelno >= logging.WARNING]) == 1


def test_the_lambda_entry_answers_503_when_the_secret_was_never_readable(
    workspace: SlackWorkspace, secrets_client: Any, secret_arn: str
) -> None:
    secrets_client.delete_secret(SecretId=secret_arn, ForceDeleteWithoutRecovery=True)
    response = handlers.aws_lambda.handler(pay_help(workspace), LambdaContext())
    assert response["statusCode"] == 503
    assert SIGNING_SECRET not in json.dumps(response)
