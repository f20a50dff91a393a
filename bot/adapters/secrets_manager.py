"""One Secrets Manager JSON secret, fetched once per container and cached with a max age."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from bot.errors import PaybotError

if TYPE_CHECKING:  # the stubs are a development dependency; the Lambda zip has none
    from types_boto3_secretsmanager import SecretsManagerClient

SECRET_KEYS = frozenset(
    {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}
)
"""The settings a deployment may keep in the secret instead of plain environment variables."""

MAX_AGE_SECONDS = 300.0
"""Rotation reaches warm containers within five minutes; one fetch per container otherwise."""


class SecretUnavailable(PaybotError):
    """The secret could not be read or is not a JSON object of strings."""


class CachedSecret:
    """A JSON secret's string values; thread-safe, refreshed when older than `max_age`."""

    def __init__(
        self,
        secret_id: str,
        *,
        client: SecretsManagerClient | None = None,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret_id = secret_id
        self._client = client
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._value: dict[str, str] | None = None
        self._fetched_at = 0.0

    def get(self, *, force_refresh: bool = False) -> Mapping[str, str]:
        """The secret's values, from cache unless stale or `force_refresh`."""
        with self._lock:
            stale = self._clock() - self._fetched_at >= self._max_age
            if self._value is None or stale or force_refresh:
                self._value = self._fetch()
                self._fetched_at = self._clock()
            return dict(self._value)

    def _fetch(self) -> dict[str, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._secrets_client().get_secret_value(SecretId=self._secret_id)
        except (BotoCoreError, ClientError) as exc:
            # The error names the secret and the failure; never a value.
            raise SecretUnavailable(f"cannot read secret {self._secret_id}: {exc}") from None
        try:
            data = json.loads(answer.get("SecretString") or "")
        except ValueError:
            raise SecretUnavailable(f"secret {self._secret_id} is not JSON") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SecretUnavailable(f"secret {self._secret_id} must be a JSON object of strings")
        unknown = set(data) - SECRET_KEYS
        if unknown:
            raise SecretUnavailable(f"secret {self._secret_id} has unknown keys {sorted(unknown)}")
        return data

    def _secrets_client(self) -> SecretsManagerClient:
        if self._client is None:
            import boto3

            self._client = boto3.client("secretsmanager")
        return self._client
