"""One Secrets Manager JSON secret, fetched once per container and cached with a max age."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from bot.errors import PaybotError

if TYPE_CHECKING:  # the stubs are a development dependency; the Lambda zip has none
    from types_boto3_secretsmanager import SecretsManagerClient

SECRET_KEYS = frozenset(
    {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "TEAMS_APP_PASSWORD",
    }
)
"""The settings a deployment may keep in the secret instead of plain environment variables."""

MAX_AGE_SECONDS = 300.0
"""Rotation reaches warm containers within five minutes; one fetch per container otherwise."""

FIRST_RETRY_SECONDS = 5.0
LAST_RETRY_SECONDS = 60.0
"""After a failed read, the next waits 5 s, then twice as long each time, at most a minute."""

log = logging.getLogger(__name__)


class SecretUnavailable(PaybotError):
    """The secret could not be read or is not a JSON object of strings."""


class CachedSecret:
    """A JSON secret's string values; thread-safe, refreshed when older than `max_age`.

    A refresh that fails keeps serving the last good value (logged once per outage) and
    is retried after a growing pause, so an outage of Secrets Manager neither takes the
    app down nor makes every request wait on it.
    """

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
        self._failure: SecretUnavailable | None = None
        self._retry_at = 0.0
        self._pause = 0.0

    def get(self, *, force_refresh: bool = False) -> Mapping[str, str]:
        """The secret's values, from cache unless stale or `force_refresh`.

        Raises `SecretUnavailable` only while no read has ever succeeded.
        """
        with self._lock:
            now = self._clock()
            due = self._value is None or now - self._fetched_at >= self._max_age
            if (due or force_refresh) and now >= self._retry_at:
                self._refresh(now)
            if self._value is None:
                assert self._failure is not None  # set by the failed read that left no value
                raise self._failure
            return dict(self._value)

    def _refresh(self, now: float) -> None:
        try:
            self._value = self._fetch()
        except SecretUnavailable as exc:
            if self._failure is None:  # once per outage, not once per request
                serving = "serving the last good value" if self._value else "no value yet"
                log.warning("%s; %s, retrying with backoff", exc, serving)
            self._failure = exc
            self._pause = min(max(self._pause * 2, FIRST_RETRY_SECONDS), LAST_RETRY_SECONDS)
            self._retry_at = now + self._pause
            return
        if self._failure is not None:
            log.info("secret %s is readable again", self._secret_id)
        self._failure, self._pause, self._retry_at = None, 0.0, 0.0
        self._fetched_at = now

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
            from botocore.config import Config

            # botocore's defaults (60 s reads, retried) would hold a request far past
            # Slack's 3 s; a slow read fails fast and the last good value is served.
            self._client = boto3.client(
                "secretsmanager",
                config=Config(
                    connect_timeout=1,
                    read_timeout=2,
                    retries={"mode": "standard", "total_max_attempts": 2},
                ),
            )
        return self._client
