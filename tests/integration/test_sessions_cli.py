"""`python -m bot sessions ...`, run as an operator would: a subprocess against moto or a file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bot.adapters.dynamodb_store import (
    ATTRIBUTE_DEFINITIONS,
    BILLING_MODE,
    KEY_SCHEMA,
    TTL_ATTRIBUTE,
    DynamoSessionStore,
)
from bot.adapters.sqlite_store import SqliteSessionStore
from bot.models import Session
from tests.fakes import slack_user

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if key != "SESSIONS_TABLE"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=PROJECT_ROOT,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def session(user_id: str, *, expires_in: int) -> Session:
    return Session(tenant_id="T1", user_id=user_id, expires_at=int(time.time()) + expires_in)


# --- create-table -------------------------------------------------------------------------


def test_create_table_creates_the_default_table_and_says_so(moto_reset: str) -> None:
    result = run_cli("sessions", "create-table")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Created table paybot-sessions.\n"


def test_create_table_a_second_time_says_it_already_exists(moto_reset: str) -> None:
    run_cli("sessions", "create-table")

    result = run_cli("sessions", "create-table")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Table paybot-sessions already exists.\n"


def test_create_table_uses_the_name_in_sessions_table(
    moto_reset: str, dynamodb_client: Any
) -> None:
    result = run_cli("sessions", "create-table", SESSIONS_TABLE="custom-sessions")

    assert result.stdout == "Created table custom-sessions.\n"
    assert dynamodb_client.list_tables()["TableNames"] == ["custom-sessions"]


def test_created_table_has_the_declared_key_schema_and_billing(
    moto_reset: str, dynamodb_client: Any
) -> None:
    run_cli("sessions", "create-table")

    table = dynamodb_client.describe_table(TableName="paybot-sessions")["Table"]

    assert table["KeySchema"] == list(KEY_SCHEMA)
    assert table["AttributeDefinitions"] == list(ATTRIBUTE_DEFINITIONS)
    assert table["BillingModeSummary"]["BillingMode"] == BILLING_MODE
    assert table["TableStatus"] == "ACTIVE"
    assert table["SSEDescription"]["Status"] == "ENABLED"


def test_created_table_expires_items_by_ttl_on_expires_at(
    moto_reset: str, dynamodb_client: Any
) -> None:
    run_cli("sessions", "create-table")

    ttl = dynamodb_client.describe_time_to_live(TableName="paybot-sessions")

    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": TTL_ATTRIBUTE,
    }


def test_create_table_against_an_unreachable_endpoint_fails_in_one_line(
    moto_server: str,
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"

    result = run_cli("sessions", "create-table", AWS_ENDPOINT_URL_DYNAMODB=endpoint)

    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert endpoint in result.stderr


def test_create_table_without_credentials_fails_in_one_line(
    moto_server: str, tmp_path: Path
) -> None:
    no_credentials = {
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "missing-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "missing-config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }

    result = run_cli("sessions", "create-table", **no_credentials)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert "credentials" in result.stderr


# --- purge-expired ------------------------------------------------------------------------


def test_purge_expired_on_sqlite_deletes_expired_sessions_and_prints_the_count(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sessions.db"
    store = SqliteSessionStore(path)
    store.save(session("UOLD1", expires_in=-60), expected_version=0)
    store.save(session("UOLD2", expires_in=-1), expected_version=0)
    live = store.save(session("ULIVE", expires_in=3600), expected_version=0)

    result = run_cli("sessions", "purge-expired", SESSION_STORE="sqlite", SQLITE_PATH=str(path))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Deleted 2 expired sessions.\n"
    assert store.get(slack_user("T1", "ULIVE")) == live
    store.close()


def test_purge_expired_on_an_empty_sqlite_file_deletes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new" / "sessions.db"

    result = run_cli("sessions", "purge-expired", SESSION_STORE="sqlite", SQLITE_PATH=str(path))

    assert result.stdout == "Deleted 0 expired sessions.\n"


def test_purge_expired_on_dynamodb_deletes_expired_sessions_and_prints_the_count(
    sessions_table: str, dynamodb_client: Any
) -> None:
    store = DynamoSessionStore(sessions_table, client=dynamodb_client)
    store.save(session("UOLD", expires_in=-60), expected_version=0)
    live = store.save(session("ULIVE", expires_in=3600), expected_version=0)

    result = run_cli(
        "sessions", "purge-expired", SESSION_STORE="dynamodb", SESSIONS_TABLE=sessions_table
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Deleted 1 expired sessions.\n"
    assert store.get(slack_user("T1", "ULIVE")) == live


def test_purge_expired_with_an_unknown_store_names_the_variable() -> None:
    result = run_cli("sessions", "purge-expired", SESSION_STORE="redis")

    assert result.returncode == 1
    assert "SESSION_STORE" in result.stderr
    assert "Traceback" not in result.stderr
