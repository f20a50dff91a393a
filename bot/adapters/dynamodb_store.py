"""DynamoDB session store and event ledger: one table, conditional writes, TTL expiry."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bot.errors import SessionConflict, StoreUnavailable
from bot.models import ChatUser, Session, TermsAcceptance

if TYPE_CHECKING:  # the stubs are a development dependency; the Lambda zip has none
    from types_boto3_dynamodb import DynamoDBClient
    from types_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        AttributeValueTypeDef,
        KeySchemaElementTypeDef,
    )

    Key = Mapping[str, AttributeValueTypeDef]

__all__ = [
    "ATTRIBUTE_DEFINITIONS",
    "BILLING_MODE",
    "DATA_ATTRIBUTE",
    "EVENT_KEY_PREFIX",
    "IN_PROGRESS_ATTRIBUTE",
    "KEY_ATTRIBUTE",
    "KEY_SCHEMA",
    "SESSION_KEY_PREFIX",
    "TERMS_KEY_PREFIX",
    "TTL_ATTRIBUTE",
    "VERSION_ATTRIBUTE",
    "DynamoEventLedger",
    "DynamoSessionStore",
    "create_table",
]

# The table layout; serverless.yml must declare the same.
KEY_ATTRIBUTE: Final = "pk"
VERSION_ATTRIBUTE: Final = "version"
TTL_ATTRIBUTE: Final = "expires_at"
DATA_ATTRIBUTE: Final = "data"
IN_PROGRESS_ATTRIBUTE: Final = "in_progress_until"
"""On an event claim whose work is not complete: when its worker's time runs out."""
SESSION_KEY_PREFIX: Final = "session#"
EVENT_KEY_PREFIX: Final = "event#"
TERMS_KEY_PREFIX: Final = "terms#"
"""A person's acceptance of the terms: no TTL, deleted only when they are forgotten."""
BILLING_MODE: Final = "PAY_PER_REQUEST"
KEY_SCHEMA: Final[tuple[KeySchemaElementTypeDef, ...]] = (
    {"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"},
)
ATTRIBUTE_DEFINITIONS: Final[tuple[AttributeDefinitionTypeDef, ...]] = (
    {"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"},
)

# Placeholders for every attribute named in an expression: "data" is a
# DynamoDB reserved word, and one habit is easier to check than a word list.
_NAMES: Final = {
    "#pk": KEY_ATTRIBUTE,
    "#version": VERSION_ATTRIBUTE,
    "#expires_at": TTL_ATTRIBUTE,
    "#in_progress_until": IN_PROGRESS_ATTRIBUTE,
}
_ABSENT_OR_EXPIRED: Final = "attribute_not_exists(#pk) OR #expires_at <= :now"
# A claim may also take over one still in progress whose worker's time ran out (it
# died or timed out); a claim without the attribute is complete.
_CLAIMABLE: Final = f"{_ABSENT_OR_EXPIRED} OR #in_progress_until <= :now"
_LIVE_AT_VERSION: Final = "#version = :expected AND #expires_at > :now"
_CONDITION_FAILED: Final = "ConditionalCheckFailedException"


def _session_key(user: ChatUser) -> str:
    """`session#T0123#U0456` for Slack (as ever), `session#teams#<tenant>#<user>` for Teams."""
    return f"{SESSION_KEY_PREFIX}{user.key}"


def _terms_key(user: ChatUser) -> str:
    return f"{TERMS_KEY_PREFIX}{user.key}"


def _number(value: float) -> AttributeValueTypeDef:
    return {"N": str(value)}


def _condition_failed(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED)


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    """Name the operation and the failure, never the item being written."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "unknown error")
        return StoreUnavailable(f"DynamoDB {operation} failed: {code}")
    return StoreUnavailable(f"DynamoDB {operation} failed: {exc}")


class DynamoSessionStore:
    """`SessionStore` on DynamoDB; items past `expires_at` count as absent (TTL deletes late)."""

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

    def get(self, user: ChatUser) -> Session | None:
        """Return the live session, or None if absent or past `expires_at`."""
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": _session_key(user)}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("GetItem", exc) from exc
        item = response.get("Item")
        if item is None or float(item[TTL_ATTRIBUTE]["N"]) <= self._clock():
            return None
        return Session.from_stored(item[DATA_ATTRIBUTE]["S"])

    def save(self, session: Session, *, expected_version: int) -> Session:
        """Write `session` if the stored version is still `expected_version`; see `SessionStore`."""
        stored = session.evolve(version=expected_version + 1)
        values: dict[str, AttributeValueTypeDef] = {":now": _number(self._clock())}
        if expected_version == 0:
            condition = _ABSENT_OR_EXPIRED
        else:
            condition = _LIVE_AT_VERSION
            values[":expected"] = _number(expected_version)
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    KEY_ATTRIBUTE: {"S": _session_key(session.user)},
                    VERSION_ATTRIBUTE: _number(stored.version),
                    TTL_ATTRIBUTE: _number(stored.expires_at),
                    DATA_ATTRIBUTE: {"S": stored.model_dump_json()},
                },
                ConditionExpression=condition,
                ExpressionAttributeNames=_names_in(condition),
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _condition_failed(exc):
                raise SessionConflict(
                    f"session for {session.user} is no longer at version {expected_version}"
                ) from None
            raise _unavailable("PutItem", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("PutItem", exc) from exc
        return stored

    def delete(self, user: ChatUser) -> None:
        """Forget the user (session and terms acceptance); deleting nothing is not an error.

        Two deletes: a forget that fails between them leaves only the acceptance, and the
        person's next `forget` (which they are told to retry) removes it.
        """
        for key in (_session_key(user), _terms_key(user)):
            try:
                self._client.delete_item(TableName=self._table, Key={KEY_ATTRIBUTE: {"S": key}})
            except (ClientError, BotoCoreError) as exc:
                raise _unavailable("DeleteItem", exc) from exc

    def get_terms(self, user: ChatUser) -> TermsAcceptance | None:
        try:
            response = self._client.get_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": _terms_key(user)}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("GetItem", exc) from exc
        item = response.get("Item")
        return (
            None if item is None else TermsAcceptance.model_validate_json(item[DATA_ATTRIBUTE]["S"])
        )

    def put_terms(self, user: ChatUser, acceptance: TermsAcceptance) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    KEY_ATTRIBUTE: {"S": _terms_key(user)},
                    DATA_ATTRIBUTE: {"S": acceptance.model_dump_json()},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("PutItem", exc) from exc

    def purge_expired(self) -> int:
        """Delete every session past `expires_at`; return how many were deleted."""
        now = _number(self._clock())
        deleted = 0
        try:
            for key in self._expired_keys(now):
                deleted += self._delete_if_expired(key, now)
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("purge", exc) from exc
        return deleted

    def _expired_keys(self, now: AttributeValueTypeDef) -> list[Key]:
        condition = "begins_with(#pk, :prefix) AND #expires_at <= :now"
        pages = self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression=condition,
            ProjectionExpression="#pk",
            ExpressionAttributeNames=_names_in(condition),
            ExpressionAttributeValues={":prefix": {"S": SESSION_KEY_PREFIX}, ":now": now},
            ConsistentRead=True,
        )
        return [item for page in pages for item in page.get("Items", [])]

    def _delete_if_expired(self, key: Key, now: AttributeValueTypeDef) -> int:
        # Conditional, so a session renewed since the scan survives.
        condition = "#expires_at <= :now"
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=key,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names_in(condition),
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return 0
            raise
        return 1


class DynamoEventLedger:
    """`EventLedger` on the sessions table; the claim is one conditional put."""

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

    def claim(self, event_id: str, *, ttl_seconds: int, in_progress_seconds: int) -> bool:
        """Return True when the caller may handle `event_id` now; see `EventLedger`."""
        now = self._clock()
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    KEY_ATTRIBUTE: {"S": _event_key(event_id)},
                    TTL_ATTRIBUTE: _number(int(now) + ttl_seconds),
                    # Whole seconds, as every stored time: a float's digits can read as a card.
                    IN_PROGRESS_ATTRIBUTE: _number(int(now) + in_progress_seconds),
                },
                ConditionExpression=_CLAIMABLE,
                ExpressionAttributeNames=_names_in(_CLAIMABLE),
                ExpressionAttributeValues={":now": _number(now)},
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise _unavailable("PutItem", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("PutItem", exc) from exc
        return True

    def complete(self, event_id: str) -> None:
        """Mark the claim's work done, so it holds for its whole window."""
        condition = "attribute_exists(#pk)"  # a released claim stays released
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": _event_key(event_id)}},
                UpdateExpression="REMOVE #in_progress_until",
                ConditionExpression=condition,
                ExpressionAttributeNames=_names_in(f"{condition} #in_progress_until"),
            )
        except ClientError as exc:
            if _condition_failed(exc):
                return
            raise _unavailable("UpdateItem", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("UpdateItem", exc) from exc

    def release(self, event_id: str) -> None:
        """Forget a claim whose work failed, so a redelivery is handled."""
        try:
            self._client.delete_item(
                TableName=self._table, Key={KEY_ATTRIBUTE: {"S": _event_key(event_id)}}
            )
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("DeleteItem", exc) from exc


def _event_key(event_id: str) -> str:
    return f"{EVENT_KEY_PREFIX}{event_id}"


def create_table(client: DynamoDBClient, table_name: str) -> bool:
    """Create the sessions table with TTL on `expires_at`; False if it already existed."""
    try:
        client.create_table(
            TableName=table_name,
            KeySchema=list(KEY_SCHEMA),
            AttributeDefinitions=list(ATTRIBUTE_DEFINITIONS),
            BillingMode=BILLING_MODE,
            SSESpecification={"Enabled": True},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceInUseException":
            return False
        raise _unavailable("CreateTable", exc) from exc
    except BotoCoreError as exc:
        raise _unavailable("CreateTable", exc) from exc
    try:
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
        )
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable("table setup", exc) from exc
    return True


def _names_in(expression: str) -> dict[str, str]:
    """The attribute-name placeholders an expression uses (DynamoDB rejects unused ones)."""
    return {placeholder: name for placeholder, name in _NAMES.items() if placeholder in expression}
