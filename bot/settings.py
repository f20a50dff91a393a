"""Configuration: environment variables, read once, validated at start (DESIGN.md, "Contracts")."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.errors import PaybotError


class SettingsError(PaybotError):
    """A setting is missing or invalid; the message names the variable."""


HOSTED_PAGE_SECONDS = 31 * 60
"""How long a Stripe-hosted card page stays usable: `stripe_checkout.PAGE_LIFETIME_SECONDS`
plus its minute of margin. Kept here so reading settings loads no Stripe code (cold start)."""


class Settings(BaseModel):
    """Every variable paybot reads. Names match the environment exactly.

    A plain model filled by `load_settings` from the environment it is given: reading
    the environment needs no settings library, and pydantic-settings alone took longer
    to import than pydantic itself (BENCHMARKS.md, cold start).
    """

    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True)

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_API_URL: str = Field(default="https://slack.com/api/", pattern=r"^https?://")

    STRIPE_SECRET_KEY: SecretStr | None = None
    STRIPE_API_BASE: str = Field(default="https://api.stripe.com", pattern=r"^https?://")
    STRIPE_WEBHOOK_SECRET: SecretStr | None = None

    # The default depends on where we run: see `_from`.
    SESSION_STORE: Literal["dynamodb", "sqlite"] = "sqlite"
    SESSIONS_TABLE: str = Field(default="paybot-sessions", pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    SQLITE_PATH: Path = Path(".paybot/sessions.db")

    DIALOGUE_ENGINE: Literal["rules", "bedrock"] = "rules"
    BEDROCK_MODEL_ID: str | None = Field(
        default=None,
        description=(
            "A Bedrock model or inference profile id that takes Converse with a forced tool "
            "choice, e.g. us.amazon.nova-2-lite-v1:0 (serverless.yml's default: Amazon Nova 2 "
            "Lite through the US cross-Region inference profile)."
        ),
    )
    BEDROCK_GUARDRAIL_ID: str | None = None
    BEDROCK_GUARDRAIL_VERSION: str | None = None

    TEAMS_APP_ID: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,64}$")
    """The bot's Microsoft App ID; Teams is served when it is set."""
    TEAMS_APP_PASSWORD: SecretStr | None = None
    TEAMS_TENANT_ID: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.-]{1,64}$")
    """A single-tenant bot's Entra tenant; unset for a multi-tenant bot."""
    TEAMS_LOGIN_URL: str = Field(default="https://login.microsoftonline.com", pattern=r"^https?://")
    """Where the bot asks Entra for its token (OAuth 2.0 client credentials)."""
    TEAMS_OPENID_METADATA_URL: str = Field(
        default="https://login.botframework.com/v1/.well-known/openidconfiguration",
        pattern=r"^https?://",
    )
    """Bot Framework's OpenID metadata; its keys sign the tokens Teams sends."""

    LIMIT_CARD_SUBMISSIONS_PER_HOUR: int = Field(default=5, ge=1, le=1000)
    """Cards one person may submit in an hour (card testing); declines count twice."""
    LIMIT_WORKSPACE_CARD_SUBMISSIONS_PER_HOUR: int = Field(default=100, ge=1, le=100_000)
    """Cards a whole workspace (a Slack team, a Teams tenant) may submit in an hour."""
    LIMIT_CARD_PAGES_PER_HOUR: int = Field(default=10, ge=1, le=1000)
    """Stripe-hosted card pages one person may have made in an hour."""
    LIMIT_WORKSPACE_CARD_PAGES_PER_HOUR: int = Field(default=200, ge=1, le=100_000)
    """Stripe-hosted card pages a whole workspace may have made in an hour."""
    LIMIT_TURNS_PER_HOUR: int = Field(default=60, ge=1, le=100_000)
    """Messages one person may have the model answer in an hour (DIALOGUE_ENGINE=bedrock)."""
    LIMIT_WORKSPACE_TURNS_PER_HOUR: int = Field(default=1000, ge=1, le=1_000_000)
    """Messages a whole workspace may have the model answer in an hour."""

    PAYMENT_MODE: Literal["save", "charge"] = "save"
    """`save`: save the card. `charge`: then charge it, on the person's press of Pay."""
    PAYMENT_MAX_AMOUNT: str = Field(default="", max_length=2000)
    """One charge's ceiling per currency, `USD:5000,EUR:4500`; others keep their default
    (about 10,000 US dollars each, `charging.DEFAULT_MAX_AMOUNTS`)."""
    PAYBOT_ADMINS: str = Field(default="", pattern=r"^[A-Za-z0-9,\s]*$", max_length=4000)
    """Slack user ids (comma-separated) allowed to refund payments."""
    LIMIT_CHARGES_PER_HOUR: int = Field(default=10, ge=1, le=1000)
    """Charges one person may attempt in an hour."""
    LIMIT_WORKSPACE_CHARGES_PER_HOUR: int = Field(default=200, ge=1, le=100_000)
    """Charges a whole workspace may attempt in an hour."""

    TERMS_URL: str | None = Field(default=None, pattern=r"^https://[^\s]+$", max_length=2048)
    """The terms people accept before their first card entry; unset: no terms step."""
    TERMS_VERSION: str = Field(default="1", pattern=r"^[A-Za-z0-9._-]{1,64}$")
    """Change it when the terms change: everyone is asked to accept them again."""

    METRICS: Literal["emf", "off"] = "off"
    """`emf`: metrics as CloudWatch embedded-metric log lines on stdout (the default on Lambda)."""
    PAYBOT_STAGE: str = Field(default="local", pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    """The `Stage` dimension of every metric (serverless.yml sets the deployment's stage)."""

    SECRETS_ARN: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:")
    SESSION_TTL_SECONDS: int = Field(default=3600, ge=60, le=30 * 24 * 3600)
    CARD_ENTRY: Literal["modal", "hosted"] = "modal"
    SLACK_AGENT_VIEW: bool = False
    """The Slack app uses the agent messaging experience (manifest.yml's `agent_view`):
    replies go in the thread of the person's message, with a status while they are worked
    on, and the Messages tab gets suggested prompts. Off: the classic DM, unchanged."""
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    PUBLIC_URL: str | None = Field(default=None, pattern=r"^https?://")
    """Where Stripe's hosted page sends people back; by default, the host Slack called."""

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Settings:
        if self.DIALOGUE_ENGINE == "bedrock" and not self.BEDROCK_MODEL_ID:
            raise ValueError("BEDROCK_MODEL_ID is required when DIALOGUE_ENGINE=bedrock")
        if self.BEDROCK_GUARDRAIL_ID and not self.BEDROCK_GUARDRAIL_VERSION:
            raise ValueError("BEDROCK_GUARDRAIL_VERSION is required with BEDROCK_GUARDRAIL_ID")
        # Until the secret is merged in, its keys may still arrive: only what is known is held.
        pending = bool(self.SECRETS_ARN) and not (info.context or {}).get("secret_merged")
        if self.CARD_ENTRY == "hosted" and not (self.STRIPE_WEBHOOK_SECRET or pending):
            raise ValueError("STRIPE_WEBHOOK_SECRET is required when CARD_ENTRY=hosted")
        if self.PAYMENT_MODE == "charge" and not (self.STRIPE_WEBHOOK_SECRET or pending):
            # Stripe's webhook is the truth of a charge (a bank's check ends only there).
            raise ValueError("STRIPE_WEBHOOK_SECRET is required when PAYMENT_MODE=charge")
        if self.TEAMS_APP_ID and not (self.TEAMS_APP_PASSWORD or pending):
            raise ValueError("TEAMS_APP_PASSWORD is required with TEAMS_APP_ID")
        if self.TEAMS_APP_ID and not (self.STRIPE_WEBHOOK_SECRET or pending):
            # Teams takes cards on Stripe's page only, which only a webhook can confirm.
            raise ValueError("STRIPE_WEBHOOK_SECRET is required with TEAMS_APP_ID")
        hosted_pages = self.CARD_ENTRY == "hosted" or self.STRIPE_WEBHOOK_SECRET is not None
        if hosted_pages and self.SESSION_TTL_SECONDS < HOSTED_PAGE_SECONDS:
            # A card saved on a page that outlives its session would have no one to confirm to.
            raise ValueError(
                f"SESSION_TTL_SECONDS must be at least {HOSTED_PAGE_SECONDS} (the life of "
                "Stripe's hosted card page) when CARD_ENTRY=hosted or STRIPE_WEBHOOK_SECRET is set"
            )
        return self

    @field_validator("PAYMENT_MAX_AMOUNT")
    @classmethod
    def _ceilings(cls, text: str) -> str:
        from bot.charging import parse_max_amounts

        parse_max_amounts(text)  # raises ValueError naming the bad part
        return text

    @property
    def max_amounts(self) -> dict[str, Decimal]:
        """PAYMENT_MAX_AMOUNT as ceilings per currency, defaults included."""
        from bot.charging import parse_max_amounts

        return parse_max_amounts(self.PAYMENT_MAX_AMOUNT)

    @property
    def admins(self) -> frozenset[str]:
        """PAYBOT_ADMINS as a set of user ids."""
        return frozenset(part for part in re.split(r"[,\s]+", self.PAYBOT_ADMINS) if part)

    def require(self, *names: str) -> None:
        """Fail naming the first of `names` that is unset (used by commands that need them)."""
        for name in names:
            if getattr(self, name) in (None, ""):
                raise SettingsError(f"{name} is required but not set")


def load_settings(
    environ: Mapping[str, str] | None = None, *, secret_merged: bool = False
) -> Settings:
    """Read and validate settings; raise `SettingsError` naming the bad variable.

    Args:
        secret_merged: `environ` already holds `SECRETS_ARN`'s values, so every rule
            applies; otherwise the keys that secret may hold are not required yet.
    """
    source = dict(os.environ if environ is None else environ)
    try:
        return _from(source, secret_merged=secret_merged)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _from(source: dict[str, str], *, secret_merged: bool) -> Settings:
    known = {name: source[name] for name in Settings.model_fields if name in source}
    # Empty values mean "unset", as in most shells' `VAR=` idiom.
    present: dict[str, str] = {name: value for name, value in known.items() if value != ""}
    if "SESSION_STORE" not in present and source.get("AWS_LAMBDA_FUNCTION_NAME"):
        present["SESSION_STORE"] = "dynamodb"  # Lambda has no durable disk for SQLite
    if "METRICS" not in present and source.get("AWS_LAMBDA_FUNCTION_NAME"):
        present["METRICS"] = "emf"  # Lambda sends stdout to CloudWatch Logs
    return Settings.model_validate(present, context={"secret_merged": secret_merged})


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "settings"
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{name}: {message}" if error["loc"] else message)
    return "Invalid configuration: " + "; ".join(problems)
