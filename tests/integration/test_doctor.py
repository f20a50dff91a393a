"""`python -m bot doctor` against the stand-ins, as a subprocess: exit codes and printed lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from emulator.bedrock_api import BedrockEmulator
from emulator.bedrock_api import create_app as bedrock_app
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_TOKEN, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from emulator.stripe_api import StripeEmulator
from emulator.stripe_api import create_app as stripe_app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "doctor-test-signing-secret"
STRIPE_KEY = "sk_test_doctor51HxyzSecretPart"
WEBHOOK_SECRET = "whsec_doctorSecretPart"
DEFAULT_MODEL = "us.amazon.nova-2-lite-v1:0"
END_OF_LIFE_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
TABLE = "paybot-doctor-sessions"
SECRETS = (DEFAULT_TOKEN, SIGNING_SECRET, STRIPE_KEY, WEBHOOK_SECRET)
PASSED_THROUGH = ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR", "COVERAGE_PROCESS_CONFIG")


@dataclass
class Providers:
    slack_url: str
    stripe_url: str
    bedrock_url: str
    stripe: StripeEmulator


@dataclass
class Report:
    code: int
    out: str
    err: str

    def line(self, start: str) -> str:
        """The one printed line that starts with `start`."""
        found = [line for line in self.out.splitlines() if line.startswith(start)]
        assert len(found) == 1, f"expected one line starting {start!r} in:\n{self.out}{self.err}"
        return found[0]


@pytest.fixture(scope="module")
def providers() -> Iterator[Providers]:
    stripe = StripeEmulator(webhook_secret=WEBHOOK_SECRET)
    with (
        serve_in_thread(slack_app(SlackWorkspace())) as slack_server,
        serve_in_thread(stripe_app(stripe)) as stripe_server,
        serve_in_thread(bedrock_app(BedrockEmulator())) as bedrock_server,
    ):
        yield Providers(slack_server.url, stripe_server.url, bedrock_server.url, stripe)


@pytest.fixture
def stripe(providers: Providers) -> Iterator[StripeEmulator]:
    yield providers.stripe
    providers.stripe.raw_card_data = True


def environment(providers: Providers, moto: str | None = None, **settings: str) -> dict[str, str]:
    """A deployment's variables pointing at the stand-ins; `settings` override or add some."""
    environ = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    environ.update(
        {
            "PYTHONPATH": str(ROOT),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_BEDROCK": providers.bedrock_url,
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": providers.bedrock_url,
            "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{providers.slack_url}/api/",
            "STRIPE_SECRET_KEY": STRIPE_KEY,
            "STRIPE_API_BASE": providers.stripe_url,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
    )
    if moto is not None:
        environ["AWS_ENDPOINT_URL_DYNAMODB"] = moto
        environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = moto
    environ.update(settings)
    return {name: value for name, value in environ.items() if value != ""}


def bot(*args: str, env: dict[str, str]) -> Report:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return Report(done.returncode, done.stdout, done.stderr)


def doctor(env: dict[str, str]) -> Report:
    report = bot("doctor", env=env)
    assert "Traceback" not in report.out + report.err
    for secret in SECRETS:
        assert secret not in report.out + report.err
    return report


# ------------------------------------------------------------------ good setups


def test_a_modal_setup_with_raw_card_data_passes(providers: Providers) -> None:
    report = doctor(environment(providers, CARD_ENTRY="modal"))

    assert report.code == 0, report.out
    assert "ok   slack token: xoxb-… is paybot" in report.line("ok   slack token:")
    assert report.line("ok   slack signing secret:")
    assert report.line("ok   stripe key: sk_test_… is a test-mode key")
    assert report.line("ok   stripe account:")
    assert report.line("ok   stripe raw card data: enabled")
    assert report.line("ok   stripe webhook secret: whsec_… is set")
    assert report.out.splitlines()[-1].startswith("ready: 0 failed")


def test_a_hosted_setup_with_a_webhook_secret_passes(providers: Providers) -> None:
    report = doctor(environment(providers, CARD_ENTRY="hosted"))

    assert report.code == 0, report.out
    assert report.line("ok   settings: read (CARD_ENTRY=hosted")
    assert report.line("ok   stripe webhook secret:")


def test_a_bedrock_setup_with_the_default_model_passes(providers: Providers) -> None:
    report = doctor(
        environment(providers, DIALOGUE_ENGINE="bedrock", BEDROCK_MODEL_ID=DEFAULT_MODEL)
    )

    assert report.code == 0, report.out
    assert "inference profile for amazon.nova-2-lite-v1:0" in report.line("ok   bedrock model:")
    assert report.line("ok   bedrock lifecycle: amazon.nova-2-lite-v1:0 is Active")
    assert report.line(f"ok   bedrock access: {DEFAULT_MODEL} answered a one-token Converse")


def test_a_dynamodb_setup_with_the_table_from_create_table_passes(
    providers: Providers, moto_reset: str
) -> None:
    env = environment(providers, moto_reset, SESSION_STORE="dynamodb", SESSIONS_TABLE=TABLE)
    assert bot("sessions", "create-table", env=env).code == 0

    report = doctor(env)

    assert report.code == 0, report.out
    assert report.line(f"ok   dynamodb table: table {TABLE} is ACTIVE, keyed by pk (string)")
    assert report.line("ok   dynamodb ttl: TTL on expires_at is ENABLED")


def test_keys_kept_in_the_secret_are_merged_as_on_lambda(
    providers: Providers, moto_reset: str
) -> None:
    keys = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
    full = environment(providers, moto_reset)
    secrets = boto3.client("secretsmanager", endpoint_url=moto_reset, region_name="us-east-1")
    arn = secrets.create_secret(
        Name="paybot/doctor", SecretString=json.dumps({key: full[key] for key in keys})
    )["ARN"]
    env = environment(providers, moto_reset, SECRETS_ARN=arn, **dict.fromkeys(keys, ""))

    report = doctor(env)

    assert report.code == 0, report.out
    assert report.line(f"ok   secret: read {arn} (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,")
    assert report.line("ok   stripe raw card data: enabled")


def test_warnings_alone_exit_zero(providers: Providers) -> None:
    report = doctor(environment(providers, CARD_ENTRY="modal", STRIPE_WEBHOOK_SECRET=""))

    assert report.code == 0, report.out
    line = report.line("warn stripe webhook secret:")
    assert "3-D Secure confirmations then rely on the return page only" in line


# ------------------------------------------------------------------ broken settings


def test_hosted_entry_without_a_webhook_secret_fails(providers: Providers) -> None:
    report = doctor(environment(providers, CARD_ENTRY="hosted", STRIPE_WEBHOOK_SECRET=""))

    assert report.code == 1
    line = report.line("FAIL stripe webhook secret:")
    assert "STRIPE_WEBHOOK_SECRET is not set, and CARD_ENTRY=hosted needs it" in line
    assert "Fix: in the Stripe Dashboard" in line
    assert "STRIPE_WEBHOOK_SECRET" in report.line("FAIL settings:")
    assert report.line("ok   slack token:")  # the other checks still ran


def test_an_end_of_life_model_fails(providers: Providers) -> None:
    env = environment(providers, DIALOGUE_ENGINE="bedrock", BEDROCK_MODEL_ID=END_OF_LIFE_MODEL)

    report = doctor(env)

    assert report.code == 1
    assert END_OF_LIFE_MODEL in report.line("FAIL bedrock lifecycle:")
    access = report.line("FAIL bedrock access:")
    assert f"Bedrock no longer serves {END_OF_LIFE_MODEL}" in access
    assert "Fix: set BEDROCK_MODEL_ID to an Active model" in access


def test_a_missing_table_fails(providers: Providers, moto_reset: str) -> None:
    env = environment(providers, moto_reset, SESSION_STORE="dynamodb", SESSIONS_TABLE=TABLE)

    report = doctor(env)

    assert report.code == 1
    line = report.line("FAIL dynamodb table:")
    assert f"table {TABLE} does not exist" in line
    assert "python -m bot sessions create-table" in line


def test_a_bad_slack_token_fails(providers: Providers) -> None:
    report = doctor(environment(providers, SLACK_BOT_TOKEN="xoxb-not-the-workspaces-token"))

    assert report.code == 1
    line = report.line("FAIL slack token:")
    assert "Slack refused the bot token (invalid_auth)" in line
    assert "Fix: copy the Bot User OAuth Token" in line
    assert "not-the-workspaces-token" not in report.out


def test_modal_entry_without_raw_card_data_fails(
    providers: Providers, stripe: StripeEmulator
) -> None:
    stripe.raw_card_data = False

    report = doctor(environment(providers, CARD_ENTRY="modal"))

    assert report.code == 1
    line = report.line("FAIL stripe raw card data:")
    assert "raw card data APIs are not enabled" in line
    assert "or set CARD_ENTRY=hosted with STRIPE_WEBHOOK_SECRET" in line


def test_hosted_entry_does_not_need_raw_card_data(
    providers: Providers, stripe: StripeEmulator
) -> None:
    stripe.raw_card_data = False

    report = doctor(environment(providers, CARD_ENTRY="hosted"))

    assert report.code == 0, report.out
    assert report.line("ok   stripe raw card data: not enabled; not needed with CARD_ENTRY=hosted")


def test_a_key_that_is_not_a_secret_key_fails(providers: Providers) -> None:
    report = doctor(environment(providers, STRIPE_SECRET_KEY="pk_test_publishable"))

    assert report.code == 1
    assert "pk_test_publishable" not in report.out
    assert "is not a secret key" in report.line("FAIL stripe key:")


def test_an_invalid_setting_is_a_finding_not_a_traceback(providers: Providers) -> None:
    report = doctor(environment(providers, SESSION_TTL_SECONDS="5"))

    assert report.code == 1
    assert "SESSION_TTL_SECONDS" in report.line("FAIL settings:")
    assert report.out.splitlines()[-1].startswith("not ready: 1 failed")


def test_unreachable_providers_fail_without_a_traceback(providers: Providers) -> None:
    nowhere = "http://127.0.0.1:9"
    env = environment(providers, SLACK_API_URL=f"{nowhere}/api/", STRIPE_API_BASE=nowhere)

    report = doctor(env)

    assert report.code == 1
    assert "cannot reach Slack" in report.line("FAIL slack token:")
    assert "cannot reach Stripe" in report.line("FAIL stripe account:")
