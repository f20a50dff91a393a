"""`python -m bot audit export`, run as an operator would: a subprocess against a file or moto."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.adapters.dynamodb_audit import DynamoAuditLog
from bot.adapters.sqlite_store import SqliteAuditLog
from bot.models import AuditRecord
from bot.settings import load_settings
from handlers.audit import build_audit_log
from tests.integration.test_sessions_cli import closed_port, run_cli


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def record(record_id: str, when: int, **fields: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "action": "charge_succeeded",
        "actor": "stripe",
        "payer": "slack:T1:U1",
        "amount": Decimal("45.10"),
        "currency": "USD",
        "reference": "INV-1001",
        "intent_id": "pi_1",
        "brand": "visa",
        "last4": "4242",
    }
    return AuditRecord(id=record_id, at=when, **{**values, **fields})


NOVEMBER_LAST = record("charge_attempted:k1", at("2026-11-30T23:59:59"), action="charge_attempted")
DECEMBER_FIRST = record("charge_succeeded:pi_1", at("2026-12-01T00:00:00"))
TEN_O_CLOCK = record(
    "refund_created:re_1",
    at("2026-12-01T10:00:00"),
    action="refund_created",
    actor="slack:T1:UADMIN",
    amount=Decimal("7.50"),
    refund_id="re_1",
)
DECEMBER_SECOND = record(
    "charge_failed:pi_2", at("2026-12-02T08:30:00"), intent_id="pi_2", detail="card_declined"
)
TRAIL = [NOVEMBER_LAST, DECEMBER_FIRST, TEN_O_CLOCK, DECEMBER_SECOND]


@pytest.fixture
def sqlite_trail(tmp_path: Path) -> dict[str, str]:
    """A SQLite file holding `TRAIL`, appended newest first; the environment naming it."""
    path = tmp_path / "state" / "sessions.db"
    audit = SqliteAuditLog(path)
    for each in reversed(TRAIL):
        audit.append(each)
    audit.close()
    return {"SESSION_STORE": "sqlite", "SQLITE_PATH": str(path)}


def lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def as_json(*records: AuditRecord) -> list[dict[str, Any]]:
    return [each.model_dump(mode="json") for each in records]


# --- on SQLite ----------------------------------------------------------------------------


def test_export_without_since_prints_the_whole_trail_oldest_first(
    sqlite_trail: dict[str, str],
) -> None:
    result = run_cli("audit", "export", **sqlite_trail)

    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == as_json(*TRAIL)
    assert result.stdout.endswith("}\n")


def test_each_line_is_the_record_with_its_amount_as_a_string_as_stored(
    sqlite_trail: dict[str, str],
) -> None:
    result = run_cli("audit", "export", **sqlite_trail)

    refund = lines(result.stdout)[2]
    assert refund["amount"] == "7.50"
    assert refund["brand"] == "visa"
    assert AuditRecord.model_validate(refund) == TEN_O_CLOCK


def test_export_since_a_date_starts_at_that_midnight_utc(sqlite_trail: dict[str, str]) -> None:
    result = run_cli("audit", "export", "--since", "2026-12-01", **sqlite_trail)

    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == as_json(DECEMBER_FIRST, TEN_O_CLOCK, DECEMBER_SECOND)


def test_export_since_a_time_keeps_the_record_made_at_that_second(
    sqlite_trail: dict[str, str],
) -> None:
    result = run_cli("audit", "export", "--since", "2026-12-01T10:00:00Z", **sqlite_trail)

    assert lines(result.stdout) == as_json(TEN_O_CLOCK, DECEMBER_SECOND)


def test_export_since_a_time_with_an_offset_reads_it_in_that_zone(
    sqlite_trail: dict[str, str],
) -> None:
    result = run_cli("audit", "export", "--since", "2026-12-01T11:00:01+01:00", **sqlite_trail)

    assert lines(result.stdout) == as_json(DECEMBER_SECOND)


def test_export_since_an_age_counts_back_from_now(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    audit = SqliteAuditLog(path)
    now = int(time.time())
    old, recent = record("charge_attempted:old", now - 2 * 86400), record("charge:new", now - 3600)
    audit.append(old)
    audit.append(recent)

    result = run_cli(
        "audit", "export", "--since", "24h", SESSION_STORE="sqlite", SQLITE_PATH=str(path)
    )

    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == as_json(recent)
    audit.close()


def test_export_of_an_empty_trail_prints_nothing(tmp_path: Path) -> None:
    result = run_cli(
        "audit", "export", SESSION_STORE="sqlite", SQLITE_PATH=str(tmp_path / "new.db")
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "since", ["yesterday", "24x", "-24h", "2026-13-01", "", "1.5h", "4242424242424242"]
)
def test_a_bad_since_fails_in_one_line_naming_the_flag_with_exit_2(
    sqlite_trail: dict[str, str], since: str
) -> None:
    result = run_cli("audit", "export", f"--since={since}", **sqlite_trail)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: --since must be an ISO 8601 date or time")
    assert "24h" in result.stderr
    if since:
        assert since not in result.stderr  # never echoed back


# --- on DynamoDB (moto server) ------------------------------------------------------------


def test_export_on_dynamodb_prints_the_trail_in_the_sessions_table(
    sessions_table: str, dynamodb_client: Any
) -> None:
    audit = DynamoAuditLog(sessions_table, client=dynamodb_client)
    for each in reversed(TRAIL):
        audit.append(each)

    result = run_cli(
        "audit",
        "export",
        "--since",
        "2026-12-01T10:00:00Z",
        SESSION_STORE="dynamodb",
        SESSIONS_TABLE=sessions_table,
    )

    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == as_json(TEN_O_CLOCK, DECEMBER_SECOND)


def test_export_from_an_unreachable_dynamodb_fails_in_one_line_with_exit_1(
    moto_server: str,
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"

    result = run_cli(
        "audit", "export", SESSION_STORE="dynamodb", AWS_ENDPOINT_URL_DYNAMODB=endpoint
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: DynamoDB Scan failed")
    assert endpoint in result.stderr


def test_export_from_a_missing_dynamodb_table_fails_in_one_line_with_exit_1(
    moto_reset: str,
) -> None:
    result = run_cli("audit", "export", SESSION_STORE="dynamodb", SESSIONS_TABLE="no-such-table")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr == "error: DynamoDB Scan failed: ResourceNotFoundException\n"


# --- build_audit_log ----------------------------------------------------------------------


def test_the_audit_log_is_sqlite_on_the_sessions_file_when_settings_say_sqlite(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sessions.db"
    settings = load_settings({"SESSION_STORE": "sqlite", "SQLITE_PATH": str(path)})

    audit = build_audit_log(settings)
    audit.append(DECEMBER_FIRST)

    assert isinstance(audit, SqliteAuditLog)
    assert list(SqliteAuditLog(path).export(since=0)) == [DECEMBER_FIRST]


def test_the_audit_log_on_dynamodb_writes_through_the_client_it_is_given(
    sessions_table: str, dynamodb_client: Any, moto_server: str
) -> None:
    settings = load_settings({"SESSION_STORE": "dynamodb", "SESSIONS_TABLE": sessions_table})
    shared = boto3.client("dynamodb", endpoint_url=moto_server, region_name="us-east-1")
    calls: list[str] = []
    shared.meta.events.register("before-call.dynamodb", lambda model, **_: calls.append(model.name))

    build_audit_log(settings, client=shared).append(DECEMBER_FIRST)

    assert calls == ["PutItem"]
    found = DynamoAuditLog(sessions_table, client=dynamodb_client).export(since=0)
    assert list(found) == [DECEMBER_FIRST]
