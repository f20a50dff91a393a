"""Settings: every variable from DESIGN.md's "Contracts", failing loudly by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_run_locally_with_nothing_configured() -> None:
    settings = load_settings({})
    assert settings.SESSION_STORE == "sqlite"
    assert settings.SQLITE_PATH == Path(".paybot/sessions.db")
    assert settings.SESSIONS_TABLE == "paybot-sessions"
    assert settings.DIALOGUE_ENGINE == "rules"
    assert settings.SESSION_TTL_SECONDS == 3600
    assert settings.CARD_ENTRY == "modal"
    assert settings.LOG_LEVEL == "INFO"
    assert settings.SLACK_API_URL == "https://slack.com/api/"


def test_on_lambda_the_default_store_is_dynamodb() -> None:
    assert load_settings({"AWS_LAMBDA_FUNCTION_NAME": "paybot"}).SESSION_STORE == "dynamodb"


def test_an_explicit_store_wins_over_the_lambda_default() -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "paybot", "SESSION_STORE": "sqlite"}
    assert load_settings(env).SESSION_STORE == "sqlite"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SESSION_STORE": "mongo"}, "SESSION_STORE"),
        ({"DIALOGUE_ENGINE": "gpt"}, "DIALOGUE_ENGINE"),
        ({"SESSION_TTL_SECONDS": "soon"}, "SESSION_TTL_SECONDS"),
        ({"SESSION_TTL_SECONDS": "5"}, "SESSION_TTL_SECONDS"),
        ({"CARD_ENTRY": "paste"}, "CARD_ENTRY"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"SLACK_API_URL": "slack.com"}, "SLACK_API_URL"),
        ({"SECRETS_ARN": "my-secret"}, "SECRETS_ARN"),
        ({"DIALOGUE_ENGINE": "bedrock"}, "BEDROCK_MODEL_ID"),
        ({"BEDROCK_GUARDRAIL_ID": "g1", "BEDROCK_MODEL_ID": "m"}, "BEDROCK_GUARDRAIL_VERSION"),
        ({"CARD_ENTRY": "hosted"}, "STRIPE_WEBHOOK_SECRET"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_secrets_are_not_shown_when_settings_are_printed() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-very-secret", "STRIPE_SECRET_KEY": "sk_x"})
    assert "xoxb-very-secret" not in repr(settings)
    assert "sk_x" not in str(settings)


def test_an_empty_variable_counts_as_unset() -> None:
    assert load_settings({"SESSION_STORE": ""}).SESSION_STORE == "sqlite"


def test_require_names_the_missing_variable() -> None:
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        load_settings({}).require("SLACK_SIGNING_SECRET")
