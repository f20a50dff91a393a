"""`python -m bot doctor`'s runner called in this process, against the same stand-ins.

test_doctor.py drives the command as a subprocess with a deployment's bare
environment; these call `handlers.doctor.run.run` directly, so the checks' own code
paths are exercised (and measured) where the tests run.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import boto3
import pytest

from emulator.stripe_api import StripeEmulator
from handlers.doctor.run import run
from tests.integration.test_doctor import (
    DEFAULT_MODEL,
    END_OF_LIFE_MODEL,
    SECRETS,
    TABLE,
    Providers,
    Report,
    bot,
    environment,
    providers,
    stripe,
)

__all__ = ["providers", "stripe"]  # fixtures shared with test_doctor.py

_ENVIRONMENT_NAMES = (
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "SECRETS_ARN",
    "SESSION_STORE",
    "SESSIONS_TABLE",
    "DIALOGUE_ENGINE",
    "BEDROCK_MODEL_ID",
    "CARD_ENTRY",
)


@pytest.fixture(autouse=True)
def root_logging_restored() -> Iterator[None]:
    """The runner configures root logging for a process of its own; give this one back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def doctor(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Report:
    """Run the checks with `env` as the process environment too (boto3 reads it there)."""
    for name in _ENVIRONMENT_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = io.StringIO()
    code = run(env, out)
    for secret in SECRETS:
        assert secret not in out.getvalue()
    return Report(code, out.getvalue(), "")


def test_a_modal_setup_with_raw_card_data_passes_every_slack_and_stripe_check(
    providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = doctor(environment(providers, CARD_ENTRY="modal"), monkeypatch)

    assert report.code == 0, report.out
    assert report.line("ok   slack token:")
    assert report.line("ok   stripe raw card data: enabled")
    assert report.out.splitlines()[-1].startswith("ready: 0 failed")


def test_a_bedrock_setup_with_the_default_model_passes_its_three_checks(
    providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(providers, DIALOGUE_ENGINE="bedrock", BEDROCK_MODEL_ID=DEFAULT_MODEL)

    report = doctor(env, monkeypatch)

    assert report.code == 0, report.out
    assert "inference profile for amazon.nova-2-lite-v1:0" in report.line("ok   bedrock model:")
    assert report.line("ok   bedrock lifecycle: amazon.nova-2-lite-v1:0 is Active")
    assert report.line("ok   bedrock access:")


def test_an_end_of_life_model_fails_lifecycle_and_access(
    providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(providers, DIALOGUE_ENGINE="bedrock", BEDROCK_MODEL_ID=END_OF_LIFE_MODEL)

    report = doctor(env, monkeypatch)

    assert report.code == 1
    assert END_OF_LIFE_MODEL in report.line("FAIL bedrock lifecycle:")
    assert "Fix: set BEDROCK_MODEL_ID to an Active model" in report.line("FAIL bedrock access:")


def test_a_dynamodb_table_made_by_create_table_passes_table_and_ttl_checks(
    providers: Providers, moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(providers, moto_reset, SESSION_STORE="dynamodb", SESSIONS_TABLE=TABLE)
    assert bot("sessions", "create-table", env=env).code == 0

    report = doctor(env, monkeypatch)

    assert report.code == 0, report.out
    assert report.line(f"ok   dynamodb table: table {TABLE} is ACTIVE, keyed by pk (string)")
    assert report.line("ok   dynamodb ttl: TTL on expires_at is ENABLED")


def test_a_missing_dynamodb_table_fails_with_the_command_that_makes_it(
    providers: Providers, moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(providers, moto_reset, SESSION_STORE="dynamodb", SESSIONS_TABLE=TABLE)

    report = doctor(env, monkeypatch)

    assert report.code == 1
    assert "python -m bot sessions create-table" in report.line("FAIL dynamodb table:")


def test_modal_entry_on_an_account_without_raw_card_data_fails(
    providers: Providers, stripe: StripeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    stripe.raw_card_data = False

    report = doctor(environment(providers, CARD_ENTRY="modal"), monkeypatch)

    assert report.code == 1
    assert "raw card data APIs are not enabled" in report.line("FAIL stripe raw card data:")


def test_a_publishable_key_fails_as_not_a_secret_key(
    providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(providers, STRIPE_SECRET_KEY="pk_test_publishable")

    report = doctor(env, monkeypatch)

    assert report.code == 1
    assert "is not a secret key" in report.line("FAIL stripe key:")
    assert "pk_test_publishable" not in report.out


def test_a_bad_slack_token_fails_with_slacks_reason(
    providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(providers, SLACK_BOT_TOKEN="xoxb-not-the-workspaces-token")

    report = doctor(env, monkeypatch)

    assert report.code == 1
    assert "invalid_auth" in report.line("FAIL slack token:")


def test_unreachable_slack_and_stripe_fail_without_a_traceback(
    providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = "http://127.0.0.1:9"
    env = environment(providers, SLACK_API_URL=f"{nowhere}/api/", STRIPE_API_BASE=nowhere)

    report = doctor(env, monkeypatch)

    assert report.code == 1
    assert "cannot reach Slack" in report.line("FAIL slack token:")
    assert "cannot reach Stripe" in report.line("FAIL stripe account:")
    assert "Traceback" not in report.out


def test_keys_kept_in_the_secret_are_read_and_merged_before_the_checks(
    providers: Providers, moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
    full = environment(providers, moto_reset)
    secrets = boto3.client("secretsmanager", endpoint_url=moto_reset, region_name="us-east-1")
    arn = secrets.create_secret(
        Name="paybot/doctor-in-process", SecretString=json.dumps({key: full[key] for key in keys})
    )["ARN"]
    env = environment(providers, moto_reset, SECRETS_ARN=arn, **dict.fromkeys(keys, ""))

    report = doctor(env, monkeypatch)

    assert report.code == 0, report.out
    assert report.line(f"ok   secret: read {arn} (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,")


def test_a_secret_that_cannot_be_read_fails_and_names_what_to_check(
    providers: Providers, moto_reset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:paybot/absent-AbCdEf"
    env = environment(providers, moto_reset, SECRETS_ARN=arn)

    report = doctor(env, monkeypatch)

    assert report.code == 1
    assert "check SECRETS_ARN" in report.line("FAIL secret:")


def test_a_setting_invalid_on_its_own_is_one_failed_finding_not_a_traceback(
    providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = doctor(environment(providers, SESSION_TTL_SECONDS="5"), monkeypatch)

    assert report.code == 1
    assert "SESSION_TTL_SECONDS" in report.line("FAIL settings:")
    assert report.out.splitlines()[-1].startswith("not ready: 1 failed")
