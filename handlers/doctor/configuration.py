"""The settings under test: the environment, merged with the Secrets Manager secret as on Lambda."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ValidationError, model_validator

from bot.adapters.secrets_manager import SECRET_KEYS, CachedSecret, SecretUnavailable
from bot.settings import Settings, SettingsError, load_settings
from handlers.doctor.report import Check, fail, ok

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient


@dataclass(frozen=True)
class Configuration:
    """The settings to check (None when even a lenient read fails) and what reading them found."""

    settings: Settings | None
    checks: list[Check] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    """Every secret value seen, so that no printed line can carry one."""


class _Unchecked(Settings):
    """`Settings` without the rules that tie variables together, so each check can still run.

    Those rules' failures are reported by `load_settings` first; the per-provider checks then
    say the same thing in their own terms (for example the webhook secret for hosted entry).
    """

    @model_validator(mode="after")
    def _consistent(self) -> _Unchecked:
        return self


def read(
    environ: Mapping[str, str], *, secrets_client: SecretsManagerClient | None = None
) -> Configuration:
    """Merge `SECRETS_ARN`'s secret over `environ` as the Lambda entry does, then validate."""
    values = dict(environ)
    checks: list[Check] = []
    arn = values.get("SECRETS_ARN")
    if arn:
        secret_check, secret = _secret(arn, secrets_client)
        checks.append(secret_check)
        values.update(secret)
    secrets = [v for k, v in values.items() if k in SECRET_KEYS and v]
    try:
        settings = load_settings(values, secret_merged=True)  # the secret is merged above
    except SettingsError as exc:
        checks.append(fail("settings", str(exc), "set or correct the variable named above"))
        return Configuration(_lenient(values), checks, secrets)
    checks.append(ok("settings", _describe(settings)))
    return Configuration(settings, checks, secrets)


def _secret(arn: str, client: SecretsManagerClient | None) -> tuple[Check, Mapping[str, str]]:
    try:
        values = CachedSecret(arn, client=client).get()
    except SecretUnavailable as exc:
        fix = (
            "check SECRETS_ARN, the AWS credentials and region, and that the secret is a JSON "
            "object of the keys paybot reads"
        )
        return fail("secret", str(exc), fix), {}
    names = ", ".join(sorted(values)) or "no keys"
    return ok("secret", f"read {arn} ({names})"), values


def _lenient(values: Mapping[str, str]) -> Settings | None:
    present = {k: v for k, v in values.items() if k in Settings.model_fields and v != ""}
    if "SESSION_STORE" not in present and values.get("AWS_LAMBDA_FUNCTION_NAME"):
        present["SESSION_STORE"] = "dynamodb"  # as load_settings decides on Lambda
    try:
        return _Unchecked.model_validate(present)
    except ValidationError:
        return None  # a variable is malformed on its own: nothing further can be checked


def _describe(settings: Settings) -> str:
    return (
        f"read (CARD_ENTRY={settings.CARD_ENTRY}, SESSION_STORE={settings.SESSION_STORE}, "
        f"DIALOGUE_ENGINE={settings.DIALOGUE_ENGINE})"
    )
