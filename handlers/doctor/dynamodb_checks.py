"""DynamoDB: the sessions table exists with paybot's key schema; TTL deletes expired sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bot.adapters.dynamodb_store import (
    ATTRIBUTE_DEFINITIONS,
    KEY_ATTRIBUTE,
    KEY_SCHEMA,
    TTL_ATTRIBUTE,
)
from bot.settings import Settings
from handlers.doctor.report import Check, fail, ok, warn

if TYPE_CHECKING:
    from types_boto3_dynamodb import DynamoDBClient
    from types_boto3_dynamodb.type_defs import TableDescriptionTypeDef

_AWS_FIX = "check the AWS credentials, AWS_REGION and AWS_ENDPOINT_URL_DYNAMODB"


def check_dynamodb(settings: Settings, *, client: DynamoDBClient | None = None) -> list[Check]:
    """Nothing unless SESSION_STORE=dynamodb (the default on Lambda); then the table and its TTL."""
    if settings.SESSION_STORE != "dynamodb":
        return []
    table = settings.SESSIONS_TABLE
    try:
        client = client or boto3.client(
            "dynamodb", config=Config(retries={"total_max_attempts": 2})
        )
    except BotoCoreError as exc:
        return [fail("dynamodb table", f"cannot set up a DynamoDB client ({exc})", _AWS_FIX)]
    described = _table(client, table)
    if described.status == "FAIL":
        return [described]
    return [described, _time_to_live(client, table)]


def _table(client: DynamoDBClient, table: str) -> Check:
    name = "dynamodb table"
    try:
        description = client.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "unknown error")
        if code == "ResourceNotFoundException":
            fix = (
                "deploy the stack (it creates the table), or run `python -m bot sessions "
                f"create-table` with SESSIONS_TABLE={table}"
            )
            return fail(name, f"table {table} does not exist", fix)
        return fail(name, f"cannot describe table {table} ({code})", _AWS_FIX)
    except BotoCoreError as exc:
        return fail(name, f"cannot reach DynamoDB ({exc})", _AWS_FIX)
    if not _has_paybot_key(description):
        detail = f"table {table} is not keyed by {KEY_ATTRIBUTE} (string) alone, as paybot needs"
        fix = (
            "create a table with `python -m bot sessions create-table` (or deploy) and point "
            "SESSIONS_TABLE at it"
        )
        return fail(name, detail, fix)
    status = description.get("TableStatus", "unknown")
    if status != "ACTIVE":
        return warn(name, f"table {table} is {status}, not yet ACTIVE", "wait, then run again")
    return ok(name, f"table {table} is ACTIVE, keyed by {KEY_ATTRIBUTE} (string)")


def _has_paybot_key(description: TableDescriptionTypeDef) -> bool:
    """The key schema `python -m bot sessions create-table` makes, and serverless.yml declares."""
    key = [(k["AttributeName"], k["KeyType"]) for k in description.get("KeySchema", [])]
    types = {
        a["AttributeName"]: a["AttributeType"] for a in description.get("AttributeDefinitions", [])
    }
    wanted_key = [(k["AttributeName"], k["KeyType"]) for k in KEY_SCHEMA]
    return key == wanted_key and all(
        types.get(a["AttributeName"]) == a["AttributeType"] for a in ATTRIBUTE_DEFINITIONS
    )


def _time_to_live(client: DynamoDBClient, table: str) -> Check:
    name = "dynamodb ttl"
    try:
        ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    except (ClientError, BotoCoreError) as exc:
        return warn(name, f"could not read the table's TTL ({type(exc).__name__})", _AWS_FIX)
    status = ttl.get("TimeToLiveStatus", "DISABLED")
    attribute = ttl.get("AttributeName")
    if attribute == TTL_ATTRIBUTE and status in ("ENABLED", "ENABLING"):
        return ok(name, f"TTL on {TTL_ATTRIBUTE} is {status}: expired sessions get deleted")
    on = f" on {attribute}" if attribute else ""
    detail = f"TTL is {status}{on}: expired sessions are ignored, but stay until purged"
    fix = (
        f"aws dynamodb update-time-to-live --table-name {table} --time-to-live-specification "
        f"Enabled=true,AttributeName={TTL_ATTRIBUTE}"
    )
    return warn(name, detail, fix)
