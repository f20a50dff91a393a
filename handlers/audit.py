"""The payment audit trail at the edge: the adapter settings choose, and its export command."""

from __future__ import annotations

import math
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.errors import PaybotError
from bot.ports import AuditLog
from bot.settings import Settings

if TYPE_CHECKING:
    import argparse

    from types_boto3_dynamodb import DynamoDBClient

_DURATION = re.compile(r"([0-9]{1,9})([smhd])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_FORMS = "an ISO 8601 date or time (2026-12-01, 2026-12-01T10:00:00Z) or an age (30m, 24h, 7d)"


def build_audit_log(settings: Settings, client: DynamoDBClient | None = None) -> AuditLog:
    """The audit trail in the store `SESSION_STORE` names, beside the sessions.

    `client`: a DynamoDB client to share (the app's); one is built when not given.
    """
    if settings.SESSION_STORE == "dynamodb":
        from bot.adapters.dynamodb_audit import DynamoAuditLog

        if client is None:
            from handlers.bootstrap import dynamodb_client

            client = dynamodb_client()
        return DynamoAuditLog(settings.SESSIONS_TABLE, client=client)
    from bot.adapters.sqlite_store import SqliteAuditLog

    return SqliteAuditLog(settings.SQLITE_PATH)


def parse_since(text: str, *, clock: Callable[[], float] = time.time) -> int:
    """`--since` as seconds since the epoch: a date or time (UTC unless it says), or an age.

    Raises ValueError, saying which forms are accepted.
    """
    duration = _DURATION.fullmatch(text)
    if duration is not None:
        return max(0, math.ceil(clock()) - int(duration[1]) * _SECONDS[duration[2]])
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0, math.ceil(when.timestamp()))
    except (ValueError, OverflowError):
        # Not echoed: whatever was typed there is not ours to print.
        raise ValueError(f"--since must be {SINCE_FORMS}") from None


def export_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print every audit record since `--since` as a JSON line, oldest first; 2 on a bad flag."""
    try:
        since = 0 if args.since is None else parse_since(args.since)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        audit = build_audit_log(settings)
    except Exception as exc:  # boto3 set-up errors vary; report one line, not a traceback
        raise PaybotError(f"cannot open the {settings.SESSION_STORE} store: {exc}") from exc
    for record in audit.export(since=since):
        sys.stdout.write(record.model_dump_json() + "\n")
    sys.stdout.flush()
    return 0
