"""The payment audit trail on the sessions table: append-only items that never expire.

A record is the item `audit#<id>` holding the record as JSON (`data`) and its time as a
number (`at`, whole seconds), and no `expires_at`: DynamoDB's TTL never removes it, the
purge never matches it (it scans `session#` items only), and forgetting a person deletes
their session and terms but keeps the trail, which is a legal record of their payments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.dynamodb_store import DATA_ATTRIBUTE, KEY_ATTRIBUTE
from bot.errors import StoreUnavailable
from bot.models import AuditRecord

if TYPE_CHECKING:  # the stubs are a development dependency; the Lambda zip has none
    from types_boto3_dynamodb import DynamoDBClient
    from types_boto3_dynamodb.type_defs import PaginatorConfigTypeDef

__all__ = ["AT_ATTRIBUTE", "AUDIT_KEY_PREFIX", "DynamoAuditLog"]

AUDIT_KEY_PREFIX: Final = "audit#"
AT_ATTRIBUTE: Final = "at"
"""When the fact was recorded (`AuditRecord.at`), as a number the export's filter reads."""

# `at` and `data` are DynamoDB reserved words: every name goes through a placeholder.
_ABSENT: Final = "attribute_not_exists(#pk)"
_AUDIT_SINCE: Final = "begins_with(#pk, :audit) AND #at >= :since"
_CONDITION_FAILED: Final = "ConditionalCheckFailedException"


class DynamoAuditLog:
    """`AuditLog` on the sessions table: one conditional put per record, never an update."""

    def __init__(
        self, table_name: str, *, client: DynamoDBClient | None = None, page_size: int | None = None
    ) -> None:
        """`page_size`: items a Scan request reads at most (DynamoDB's 1 MB page otherwise)."""
        self._table = table_name
        self._client: DynamoDBClient = client if client is not None else boto3.client("dynamodb")
        self._pages: PaginatorConfigTypeDef = {} if page_size is None else {"PageSize": page_size}

    def append(self, record: AuditRecord) -> bool:
        """Add `record` unless its `id` is recorded; False for a duplicate (kept unchanged)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    KEY_ATTRIBUTE: {"S": f"{AUDIT_KEY_PREFIX}{record.id}"},
                    AT_ATTRIBUTE: {"N": str(record.at)},
                    DATA_ATTRIBUTE: {"S": record.model_dump_json()},
                },
                ConditionExpression=_ABSENT,
                ExpressionAttributeNames={"#pk": KEY_ATTRIBUTE},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise _unavailable("PutItem", exc) from exc
        except BotoCoreError as exc:
            raise _unavailable("PutItem", exc) from exc
        return True

    def export(self, *, since: int) -> Iterator[AuditRecord]:
        """Every record with `at >= since`, oldest first (ties by `id`)."""
        records = [AuditRecord.model_validate_json(data) for data in self._scan(since)]
        return iter(sorted(records, key=lambda record: (record.at, record.id)))

    def _scan(self, since: int) -> list[str]:
        """The JSON of every audit item from `since` on, across every page of the table."""
        try:
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._table,
                FilterExpression=_AUDIT_SINCE,
                ProjectionExpression="#data",
                ExpressionAttributeNames={
                    "#pk": KEY_ATTRIBUTE,
                    "#at": AT_ATTRIBUTE,
                    "#data": DATA_ATTRIBUTE,
                },
                ExpressionAttributeValues={
                    ":audit": {"S": AUDIT_KEY_PREFIX},
                    ":since": {"N": str(since)},
                },
                ConsistentRead=True,
                PaginationConfig=self._pages,
            )
            return [item[DATA_ATTRIBUTE]["S"] for page in pages for item in page.get("Items", [])]
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable("Scan", exc) from exc


def _unavailable(operation: str, exc: Exception) -> StoreUnavailable:
    """Name the operation and the failure, never the record being written."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "unknown error")
        return StoreUnavailable(f"DynamoDB {operation} failed: {code}")
    return StoreUnavailable(f"DynamoDB {operation} failed: {exc}")
