"""The AuditLog contract, held by the SQLite and DynamoDB (moto server) adapters alike."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bot.adapters.dynamodb_audit import AT_ATTRIBUTE, AUDIT_KEY_PREFIX, DynamoAuditLog
from bot.adapters.dynamodb_store import (
    DATA_ATTRIBUTE,
    KEY_ATTRIBUTE,
    TTL_ATTRIBUTE,
    DynamoEventLedger,
    DynamoSessionStore,
)
from bot.adapters.sqlite_store import SqliteAuditLog, SqliteEventLedger, SqliteSessionStore
from bot.errors import StoreUnavailable
from bot.models import AuditRecord, Session, TermsAcceptance
from tests.fakes import slack_user
from tests.integration.test_sessions_cli import closed_port

AuditLog = SqliteAuditLog | DynamoAuditLog
Store = SqliteSessionStore | DynamoSessionStore

START = 1_700_000_000
PAGE = 4
"""Items per read: small, so an export of a dozen records spans several pages."""
THREADS = 20


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sessions.db"


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which adapter every other fixture of a test builds: each test runs once per adapter."""
    return str(request.param)


@pytest.fixture
def audit(backend: str, request: pytest.FixtureRequest, sqlite_path: Path) -> Iterator[AuditLog]:
    """The AuditLog under test, reading `PAGE` items at a time."""
    if backend == "sqlite":
        sqlite = SqliteAuditLog(sqlite_path, page_size=PAGE)
        yield sqlite
        sqlite.close()
    else:
        table = request.getfixturevalue("sessions_table")
        client = request.getfixturevalue("dynamodb_client")
        yield DynamoAuditLog(table, client=client, page_size=PAGE)


@pytest.fixture
def store(
    backend: str, request: pytest.FixtureRequest, sqlite_path: Path, clock: Clock
) -> Iterator[Store]:
    """The session store on the audit trail's own file or table."""
    if backend == "sqlite":
        sqlite = SqliteSessionStore(sqlite_path, clock=clock)
        yield sqlite
        sqlite.close()
    else:
        table = request.getfixturevalue("sessions_table")
        client = request.getfixturevalue("dynamodb_client")
        yield DynamoSessionStore(table, client=client, clock=clock)


def record(record_id: str = "charge_succeeded:pi_1", at: int = START, **fields: Any) -> AuditRecord:
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
    return AuditRecord(id=record_id, at=at, **{**values, **fields})


def exported(audit: AuditLog, since: int = 0) -> list[AuditRecord]:
    return list(audit.export(since=since))


# --- append -------------------------------------------------------------------------------


def test_the_first_append_of_a_fact_records_it(audit: AuditLog) -> None:
    assert audit.append(record()) is True

    assert exported(audit) == [record()]


def test_a_second_append_of_the_same_id_is_refused_and_keeps_the_first(audit: AuditLog) -> None:
    first = record(detail="first report")
    audit.append(first)

    again = audit.append(record(at=START + 60, amount=Decimal("99"), detail="second report"))

    assert again is False
    assert exported(audit) == [first]


def test_facts_with_different_ids_are_each_recorded(audit: AuditLog) -> None:
    assert audit.append(record("charge_attempted:k1", action="charge_attempted"))
    assert audit.append(record("charge_succeeded:pi_1"))

    assert [r.id for r in exported(audit)] == ["charge_attempted:k1", "charge_succeeded:pi_1"]


def test_a_record_round_trips_every_field_and_its_amount_as_written(audit: AuditLog) -> None:
    full = record(
        "refund_failed:re_1",
        action="refund_failed",
        actor="slack:T1:UADMIN",
        amount=Decimal("7.50"),
        currency="EUR",
        refund_id="re_1",
        detail="charge_already_refunded",
    )
    audit.append(full)

    (found,) = exported(audit)

    assert found == full
    assert found.model_dump(mode="json")["amount"] == "7.50"


def test_concurrent_appends_of_one_fact_let_exactly_one_win(audit: AuditLog) -> None:
    start = threading.Barrier(THREADS)

    def race(n: int) -> bool:
        start.wait()
        return audit.append(record(detail=f"report {n}"))

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = [f.result() for f in [pool.submit(race, n) for n in range(THREADS)]]

    assert results.count(True) == 1
    (kept,) = exported(audit)
    assert kept.detail == f"report {results.index(True)}"


# --- export -------------------------------------------------------------------------------


def test_an_empty_trail_exports_nothing(audit: AuditLog) -> None:
    assert exported(audit) == []


def test_export_is_oldest_first_whatever_the_order_of_appends(audit: AuditLog) -> None:
    for at, name in ((300, "c"), (100, "a"), (200, "b")):
        audit.append(record(f"charge_succeeded:pi_{name}", at=START + at))

    assert [r.at - START for r in exported(audit)] == [100, 200, 300]


def test_records_with_equal_times_are_exported_in_id_order(audit: AuditLog) -> None:
    for name in ("pi_b", "pi_c", "pi_a"):
        audit.append(record(f"charge_succeeded:{name}", at=START))
    audit.append(record("charge_attempted:z", at=START - 1))

    ids = [r.id for r in exported(audit)]

    assert ids == [
        "charge_attempted:z",
        "charge_succeeded:pi_a",
        "charge_succeeded:pi_b",
        "charge_succeeded:pi_c",
    ]


def test_export_since_keeps_records_at_that_time_and_after(audit: AuditLog) -> None:
    for offset in (0, 59, 60, 61, 3600):
        audit.append(record(f"charge_succeeded:pi_{offset}", at=START + offset))

    assert [r.at - START for r in exported(audit, since=START + 60)] == [60, 61, 3600]


def test_export_since_a_time_after_every_record_exports_nothing(audit: AuditLog) -> None:
    audit.append(record(at=START))

    assert exported(audit, since=START + 1) == []


def test_export_since_keeps_every_record_of_a_time_shared_across_pages(audit: AuditLog) -> None:
    for n in range(3 * PAGE):
        audit.append(record(f"charge_succeeded:pi_{n:02}", at=START + 10))
    audit.append(record("charge_succeeded:pi_early", at=START + 9))

    found = exported(audit, since=START + 10)

    assert [r.id for r in found] == [f"charge_succeeded:pi_{n:02}" for n in range(3 * PAGE)]


def test_an_export_of_many_pages_holds_every_record_in_order(audit: AuditLog) -> None:
    # Times repeat across page boundaries, so the order within a time matters too.
    appended = [
        record(f"charge_succeeded:pi_{n:03}", at=START + (n * 7) % 11) for n in range(5 * PAGE + 3)
    ]
    for each in appended:
        audit.append(each)

    assert exported(audit) == sorted(appended, key=lambda r: (r.at, r.id))


def test_export_holds_only_audit_records_not_sessions_claims_or_terms(
    audit: AuditLog, store: Store, backend: str, request: pytest.FixtureRequest, clock: Clock
) -> None:
    audit.append(record())
    person = slack_user("T1", "U1")
    store.save(Session.new(person).evolve(expires_at=START + 60), expected_version=0)
    store.put_terms(person, TermsAcceptance(url="https://e.co/t", version="1", accepted_at=START))
    if backend == "sqlite":
        SqliteEventLedger(request.getfixturevalue("sqlite_path"), clock=clock).claim(
            "Ev1", ttl_seconds=60, in_progress_seconds=10
        )
    else:
        DynamoEventLedger(
            request.getfixturevalue("sessions_table"),
            client=request.getfixturevalue("dynamodb_client"),
            clock=clock,
        ).claim("Ev1", ttl_seconds=60, in_progress_seconds=10)

    assert exported(audit) == [record()]


# --- kept as a legal record ---------------------------------------------------------------


def test_the_trail_survives_the_purge_of_expired_sessions(
    audit: AuditLog, store: Store, clock: Clock
) -> None:
    person = slack_user("T1", "U1")
    store.save(Session.new(person).evolve(expires_at=START + 60), expected_version=0)
    audit.append(record(at=START))
    clock.now += 365 * 86400

    assert store.purge_expired() == 1
    assert exported(audit) == [record(at=START)]


def test_forgetting_a_person_keeps_their_payments_audit_trail(
    audit: AuditLog, store: Store
) -> None:
    person = slack_user("T1", "U1")
    store.save(Session.new(person).evolve(expires_at=START + 3600), expected_version=0)
    store.put_terms(person, TermsAcceptance(url="https://e.co/t", version="1", accepted_at=START))
    theirs = [record("charge_attempted:k1", action="charge_attempted"), record()]
    for each in theirs:
        audit.append(each)

    store.delete(person)

    assert store.get(person) is None
    assert store.get_terms(person) is None
    assert exported(audit) == theirs


# --- failures -----------------------------------------------------------------------------


@pytest.fixture
def unreachable_dynamodb(moto_server: str) -> DynamoAuditLog:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        region_name="us-east-1",
        config=Config(connect_timeout=1, retries={"total_max_attempts": 1}),
    )
    return DynamoAuditLog("paybot-sessions", client=client)


def test_an_append_to_unreachable_dynamodb_raises_store_unavailable(
    unreachable_dynamodb: DynamoAuditLog,
) -> None:
    with pytest.raises(StoreUnavailable, match="PutItem"):
        unreachable_dynamodb.append(record())


def test_an_export_from_unreachable_dynamodb_raises_store_unavailable(
    unreachable_dynamodb: DynamoAuditLog,
) -> None:
    with pytest.raises(StoreUnavailable, match="Scan"):
        list(unreachable_dynamodb.export(since=0))


def test_a_missing_dynamodb_table_raises_store_unavailable(
    moto_reset: str, dynamodb_client: Any
) -> None:
    audit = DynamoAuditLog("no-such-table", client=dynamodb_client)

    with pytest.raises(StoreUnavailable, match="ResourceNotFoundException"):
        audit.append(record())
    with pytest.raises(StoreUnavailable, match="ResourceNotFoundException"):
        list(audit.export(since=0))


def test_a_sqlite_file_that_cannot_be_opened_raises_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("")

    with pytest.raises(StoreUnavailable, match="cannot be opened"):
        SqliteAuditLog(tmp_path / "not-a-folder" / "sessions.db")


# --- adapter specifics --------------------------------------------------------------------


def test_a_dynamodb_record_lives_under_the_audit_prefix_without_a_ttl(
    sessions_table: str, dynamodb_client: Any
) -> None:
    DynamoAuditLog(sessions_table, client=dynamodb_client).append(record())

    item = dynamodb_client.get_item(
        TableName=sessions_table, Key={KEY_ATTRIBUTE: {"S": "audit#charge_succeeded:pi_1"}}
    )["Item"]

    assert AUDIT_KEY_PREFIX == "audit#"
    assert set(item) == {KEY_ATTRIBUTE, AT_ATTRIBUTE, DATA_ATTRIBUTE}
    assert TTL_ATTRIBUTE not in item  # never deleted by DynamoDB's TTL
    assert item[AT_ATTRIBUTE] == {"N": str(START)}
    assert AuditRecord.model_validate_json(item[DATA_ATTRIBUTE]["S"]) == record()


def test_a_dynamodb_duplicate_leaves_the_stored_item_byte_for_byte(
    sessions_table: str, dynamodb_client: Any
) -> None:
    audit = DynamoAuditLog(sessions_table, client=dynamodb_client)
    audit.append(record())
    key = {KEY_ATTRIBUTE: {"S": "audit#charge_succeeded:pi_1"}}
    before = dynamodb_client.get_item(TableName=sessions_table, Key=key)["Item"]

    audit.append(record(at=START + 5, detail="again"))

    assert dynamodb_client.get_item(TableName=sessions_table, Key=key)["Item"] == before


def test_a_dynamodb_export_reads_every_page_of_the_table(
    sessions_table: str, dynamodb_client: Any
) -> None:
    """Unless told smaller, Scan pages by DynamoDB's own 1 MB limit: every page is read."""
    padding = "x" * 200  # some 500 bytes a record: 2,500 of them are more than one page
    records = [record(f"charge_failed:k{n:04}", at=START + n, detail=padding) for n in range(2500)]
    for batch in range(0, len(records), 25):
        dynamodb_client.batch_write_item(
            RequestItems={
                sessions_table: [
                    {
                        "PutRequest": {
                            "Item": {
                                KEY_ATTRIBUTE: {"S": f"{AUDIT_KEY_PREFIX}{each.id}"},
                                AT_ATTRIBUTE: {"N": str(each.at)},
                                DATA_ATTRIBUTE: {"S": each.model_dump_json()},
                            }
                        }
                    }
                    for each in records[batch : batch + 25]
                ]
            }
        )
    assert "LastEvaluatedKey" in dynamodb_client.scan(TableName=sessions_table)

    assert exported(DynamoAuditLog(sessions_table, client=dynamodb_client)) == records


def test_the_audit_trail_shares_a_sqlite_file_from_before_it_existed(
    sqlite_path: Path, clock: Clock
) -> None:
    sqlite_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(sqlite_path)) as db, db:
        db.execute(
            "CREATE TABLE sessions (team_id TEXT NOT NULL, user_id TEXT NOT NULL,"
            " version INTEGER NOT NULL, expires_at INTEGER NOT NULL, data TEXT NOT NULL,"
            " PRIMARY KEY (team_id, user_id))"
        )
    store = SqliteSessionStore(sqlite_path, clock=clock)
    saved = store.save(
        Session.new(slack_user("T1", "U1")).evolve(expires_at=START + 60), expected_version=0
    )
    audit = SqliteAuditLog(sqlite_path)

    assert audit.append(record())
    assert exported(audit) == [record()]
    assert store.get(slack_user("T1", "U1")) == saved
    audit.close()
    store.close()
