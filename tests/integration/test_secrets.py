"""Secrets Manager: one JSON secret, cached per container, refreshed on age, never logged."""

from __future__ import annotations

import json
import logging
import threading
import traceback
from typing import Any

import boto3
import pytest

from bot.adapters.secrets_manager import CachedSecret, SecretUnavailable
from bot.logs import install_redaction
from tests.fakes import FakeClock

VALUES = {"SLACK_BOT_TOKEN": "xoxb-from-secret", "SLACK_SIGNING_SECRET": "signing-from-secret"}


class CountingClient:
    """The real boto3 client, counting the calls that reach Secrets Manager."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = 0
        self._lock = threading.Lock()

    def get_secret_value(self, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        return self.client.get_secret_value(**kwargs)


@pytest.fixture
def secrets_client(moto_reset: str) -> Any:
    return boto3.client("secretsmanager", endpoint_url=moto_reset, region_name="us-east-1")


@pytest.fixture
def secret_arn(secrets_client: Any) -> str:
    created = secrets_client.create_secret(Name="paybot/test", SecretString=json.dumps(VALUES))
    return str(created["ARN"])


def test_the_secret_is_read_once_and_served_from_cache(
    secrets_client: Any, secret_arn: str
) -> None:
    counting = CountingClient(secrets_client)
    secret = CachedSecret(secret_arn, client=counting, clock=FakeClock())
    assert secret.get() == VALUES
    assert secret.get() == VALUES
    assert counting.calls == 1


def test_concurrent_first_reads_fetch_once(secrets_client: Any, secret_arn: str) -> None:
    counting = CountingClient(secrets_client)
    secret = CachedSecret(secret_arn, client=counting)
    threads = [threading.Thread(target=secret.get) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counting.calls == 1


def test_a_rotated_secret_is_seen_after_the_max_age(secrets_client: Any, secret_arn: str) -> None:
    clock = FakeClock()
    secret = CachedSecret(secret_arn, client=secrets_client, max_age=300, clock=clock)
    secret.get()
    rotated = {**VALUES, "SLACK_BOT_TOKEN": "xoxb-rotated"}
    secrets_client.put_secret_value(SecretId=secret_arn, SecretString=json.dumps(rotated))
    clock.now += 299
    assert secret.get()["SLACK_BOT_TOKEN"] == "xoxb-from-secret"
    clock.now += 1
    assert secret.get()["SLACK_BOT_TOKEN"] == "xoxb-rotated"


def test_a_forced_refresh_reads_again(secrets_client: Any, secret_arn: str) -> None:
    counting = CountingClient(secrets_client)
    secret = CachedSecret(secret_arn, client=counting, clock=FakeClock())
    secret.get()
    secret.get(force_refresh=True)
    assert counting.calls == 2


@pytest.mark.parametrize(
    ("secret_string", "problem"),
    [
        ("xoxb-secret-token-typed-bare", "not JSON"),
        ('{"SLACK_BOT_TOKEN": "xoxb-secret-token-cut-short"', "not JSON"),
        ('["xoxb-secret-token-in-a-list"]', "JSON object of strings"),
        ('{"SLACK_BOT_TOKEN": 5}', "JSON object of strings"),
        ('{"DATABASE_URL": "postgres://secret-password"}', "unknown keys"),
    ],
)
def test_a_malformed_secret_fails_clearly_without_its_value(
    secrets_client: Any, secret_string: str, problem: str
) -> None:
    arn = secrets_client.create_secret(Name="paybot/bad", SecretString=secret_string)["ARN"]
    with pytest.raises(SecretUnavailable, match=problem) as raised:
        CachedSecret(arn, client=secrets_client).get()
    shown = "".join(traceback.format_exception(raised.value))  # the whole chain, as logged
    assert secret_string not in shown
    assert "secret-token" not in shown
    assert "secret-password" not in shown


def test_a_missing_secret_names_it(secrets_client: Any) -> None:
    with pytest.raises(SecretUnavailable, match="paybot/absent"):
        CachedSecret("paybot/absent", client=secrets_client).get()


def test_secret_values_are_never_logged(
    secrets_client: Any, secret_arn: str, caplog: pytest.LogCaptureFixture
) -> None:
    install_redaction()  # as every entry point does before anything logs
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="botocore")
    CachedSecret(secret_arn, client=secrets_client).get()
    assert any(r.name.startswith("botocore") for r in caplog.records)
    assert "signing-from-secret" not in caplog.text
