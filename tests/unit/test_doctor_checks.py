"""The doctor's pure parts: manifest scopes, key modes, masking, model ids, settings, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from handlers.doctor.bedrock_checks import is_inference_profile
from handlers.doctor.configuration import read
from handlers.doctor.report import Check, exit_code, fail, mask, ok, scrub, summary, warn
from handlers.doctor.slack_checks import (
    BOT_SCOPES,
    MANIFEST,
    bot_scopes,
    manifest_scopes,
    scope_check,
)
from handlers.doctor.stripe_checks import key_mode


def declared_scopes() -> list[str]:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return list(manifest["oauth_config"]["scopes"]["bot"])


def test_the_fallback_scopes_are_the_ones_manifest_yml_declares() -> None:
    assert list(BOT_SCOPES) == declared_scopes()


def test_the_manifest_reader_finds_what_a_yaml_parser_finds() -> None:
    assert list(bot_scopes(MANIFEST.read_text(encoding="utf-8"))) == declared_scopes()


def test_the_manifest_reader_takes_a_flow_list() -> None:
    manifest = (
        "oauth_config:\n  scopes:\n    user: [search:read]\n    bot: [chat:write, 'commands']\n"
    )

    assert bot_scopes(manifest) == ("chat:write", "commands")


def test_the_manifest_reader_ignores_other_lists_and_comments() -> None:
    manifest = (
        "settings:\n  bot_events:\n    - message.im\n"
        "oauth_config:\n  scopes:\n    bot:  # what the bot may do\n"
        "      - chat:write\n      - im:history  # DMs\n"
        "  redirect_urls:\n    - https://example.com\n"
    )

    assert bot_scopes(manifest) == ("chat:write", "im:history")


def test_without_a_manifest_the_fallback_scopes_are_used(tmp_path: Path) -> None:
    assert manifest_scopes(tmp_path / "manifest.yml") == BOT_SCOPES


def test_a_token_with_every_needed_scope_is_ok() -> None:
    granted = "assistant:write,chat:write,commands,im:history,users:read"
    check = scope_check({"X-OAuth-Scopes": granted}, BOT_SCOPES)

    assert check.status == "ok"


def test_a_missing_scope_fails_naming_it() -> None:
    check = scope_check({"x-oauth-scopes": "assistant:write,chat:write,im:history"}, BOT_SCOPES)

    assert check.status == "FAIL"
    assert check.detail == "the bot token lacks commands"
    assert check.fix is not None
    assert "reinstall" in check.fix


def test_unknown_scopes_only_warn() -> None:
    assert scope_check({"content-type": "application/json"}, BOT_SCOPES).status == "warn"


@pytest.mark.parametrize(
    ("key", "mode"),
    [
        ("sk_test_abc", "test"),
        ("rk_test_abc", "test"),
        ("sk_live_abc", "live"),
        ("rk_live_abc", "live"),
        ("pk_test_abc", None),
        ("whsec_abc", None),
        ("sk_abc", None),
    ],
)
def test_the_key_prefix_gives_the_mode(key: str, mode: str | None) -> None:
    assert key_mode(key) == mode


@pytest.mark.parametrize(
    ("secret", "masked"),
    [
        ("sk_live_51HabcdefSECRET", "sk_live_…"),
        ("rk_test_51HabcdefSECRET", "rk_test_…"),
        ("xoxb-1234-5678-SECRET", "xoxb-…"),
        ("whsec_SECRET", "whsec_…"),
        ("8f14e45fceea167a5a36dedd4bea2543", "…"),
    ],
)
def test_a_masked_secret_keeps_only_its_kind(secret: str, masked: str) -> None:
    assert mask(secret) == masked


def test_scrub_masks_every_secret_in_a_line() -> None:
    line = scrub("token xoxb-1-SECRET and key sk_test_SECRET", ["xoxb-1-SECRET", "sk_test_SECRET"])

    assert line == "token xoxb-… and key sk_test_…"


def test_scrub_leaves_words_that_merely_contain_a_short_secret() -> None:
    assert scrub("signing secret: sig", ["sig"]) == "signing secret: …"


@pytest.mark.parametrize(
    "model_id",
    [
        "us.amazon.nova-2-lite-v1:0",
        "eu.anthropic.claude-sonnet-4-20250514-v1:0",
        "apac.amazon.nova-micro-v1:0",
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3",
    ],
)
def test_inference_profiles_are_recognised(model_id: str) -> None:
    assert is_inference_profile(model_id)


@pytest.mark.parametrize(
    "model_id",
    [
        "amazon.nova-2-lite-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
    ],
)
def test_foundation_model_ids_are_not_profiles(model_id: str) -> None:
    assert not is_inference_profile(model_id)


def test_warnings_alone_exit_zero() -> None:
    assert exit_code([ok("a", "fine"), warn("b", "hmm", "do this")]) == 0


def test_any_failure_exits_one() -> None:
    assert exit_code([ok("a", "fine"), fail("b", "broken", "do that")]) == 1


def test_a_failure_prints_its_fix_on_the_same_line() -> None:
    check = Check("stripe key", "FAIL", "STRIPE_SECRET_KEY is not set", "set it")

    assert check.line() == "FAIL stripe key: STRIPE_SECRET_KEY is not set Fix: set it"


def test_the_summary_counts_each_status() -> None:
    checks = [ok("a", "x"), warn("b", "y"), fail("c", "z", "f"), ok("d", "w")]

    assert summary(checks) == "not ready: 1 failed, 1 warning, 2 ok"


def test_a_settings_error_is_a_failure_naming_the_variable() -> None:
    configuration = read({"SESSION_TTL_SECONDS": "5"})

    assert [c.status for c in configuration.checks] == ["FAIL"]
    assert "SESSION_TTL_SECONDS" in configuration.checks[0].detail
    assert configuration.settings is None


def test_settings_that_contradict_each_other_are_still_checked_one_by_one() -> None:
    configuration = read({"CARD_ENTRY": "hosted"})

    assert "STRIPE_WEBHOOK_SECRET" in configuration.checks[0].detail
    assert configuration.settings is not None
    assert configuration.settings.CARD_ENTRY == "hosted"


def test_lambda_settings_default_to_dynamodb_when_checked_leniently() -> None:
    configuration = read({"CARD_ENTRY": "hosted", "AWS_LAMBDA_FUNCTION_NAME": "paybot-prod"})

    assert configuration.settings is not None
    assert configuration.settings.SESSION_STORE == "dynamodb"


def test_every_secret_value_is_collected_for_scrubbing() -> None:
    configuration = read({"SLACK_BOT_TOKEN": "xoxb-1", "STRIPE_SECRET_KEY": "sk_test_2"})

    assert sorted(configuration.secrets) == ["sk_test_2", "xoxb-1"]
