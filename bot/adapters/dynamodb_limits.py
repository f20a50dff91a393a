"""Abuse limits on the sessions table: a bucket per item, `bot.limits`' GCRA as conditional writes.

A bucket is the item `limit#<key>` holding `tat` (when the bucket is full again, whole
seconds: a float's digits could read as a card number) and `expires_at` (TTL, so an
idle bucket disappears). A take is one conditional UpdateItem in the usual cases:
while the bucket is in use, `tat` moves on by the take's cost if it stays within a
window of now; an idle or new bucket starts again from now. Which case to try first
comes from what this process last saw of the bucket; a wrong guess costs a second
write. Only a refusal reads the item, to say when to try again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.dynamodb_store import KEY_ATTRIBUTE, TTL_ATTRIBUTE
from bot.errors import StoreUnavailable
from bot.limits import Rate, Take, take

if TYPE_CHECKING:
    from types_boto3_dynamodb import DynamoDBClient

LIMIT_KEY_PREFIX: Final = "limit#"
TAT_ATTRIBUTE: Final = "tat"
_NAMES: Final = {"#tat": TAT_ATTRIBUTE, "#expires_at": TTL_ATTRIBUTE}
_IN_USE: Final = "#tat >= :now AND #tat <= :ceiling"
_IDLE: Final = "attribute_not_exists(#tat) OR #tat < :now"
_HINTS: Final = 10_000
_ATTEMPTS: Final = 3
"""Each attempt that fails its condition saw the other case: a race, rarely twice."""


class DynamoRateLimiter:
    """`RateLimiter` on the sessions table."""

    def __init__(
        self,
        table_name: str,
        *,
        client: DynamoDBClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._table = table_name
        self._client: DynamoDBClient = client if client is not None else boto3.client("dynamodb")
        self._clock = clock
        self._hints: dict[str, int] = {}
        """When each bucket this process took from is full again, as far as it knows: which
        of the two conditional writes to try first (a wrong guess costs one more)."""

    def _hint(self, key: str, tat: int) -> None:
        if len(self._hints) >= _HINTS:
            self._hints.clear()  # a hint is only a guess; forgetting them is safe
        self._hints[key] = tat

    def take(self, key: str, rate: Rate, *, cost: int = 1) -> Take:
        now = int(self._clock())
        step = math.ceil(cost * rate.interval)
        if step > rate.per_seconds:  # more than the bucket ever holds
            return Take(False, float(now), retry_after=float(step))
        values = {
            ":now": {"N": str(now)},
            ":step": {"N": str(step)},
            ":ceiling": {"N": str(now + rate.per_seconds - step)},
            ":fresh": {"N": str(now + step)},
            ":expires": {"N": str(now + rate.per_seconds + 1)},
        }
        forms = [("SET #tat = #tat + :step", _IN_USE), ("SET #tat = :fresh", _IDLE)]
        if self._hints.get(key, 0) < now:  # idle, or unknown here: a new person, say
            forms.reverse()
        for _ in range(_ATTEMPTS):
            if any(self._update(key, update, condition, values) for update, condition in forms):
                self._hint(key, now + step)
                return Take(True, float(now + step))  # at most; the item has the exact time
            refusal = self._refused(key, now, rate, cost)
            if refusal is not None:
                return refusal
        return Take(False, float(now), retry_after=float(step))  # contended past every attempt

    def _update(
        self, key: str, update: str, condition: str, values: dict[str, dict[str, str]]
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": f"{LIMIT_KEY_PREFIX}{key}"}},
                UpdateExpression=f"{update}, #expires_at = :expires",
                ConditionExpression=condition,
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues=_used(values, f"{update} {condition} :expires"),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise _unavailable("UpdateItem", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("UpdateItem", exc) from exc
        return True

    def _refused(self, key: str, now: int, rate: Rate, cost: int) -> Take | None:
        """The refusal the bucket's state gives now; None if the take would be allowed after all."""
        try:
            found = self._client.get_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": f"{LIMIT_KEY_PREFIX}{key}"}},
                ConsistentRead=True,
            ).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("GetItem", exc) from exc
        tat = float(found[TAT_ATTRIBUTE]["N"]) if found and TAT_ATTRIBUTE in found else None
        verdict = take(tat, now=now, rate=rate, cost=cost)
        return None if verdict.allowed else verdict


def _used(values: dict[str, dict[str, str]], expression: str) -> dict[str, dict[str, str]]:
    """The values an expression names (DynamoDB refuses unused ones)."""
    return {name: value for name, value in values.items() if name in expression}


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "unknown error")
        return StoreUnavailable(f"DynamoDB {operation} failed: {code}")
    return StoreUnavailable(f"DynamoDB {operation} failed: {exc}")
