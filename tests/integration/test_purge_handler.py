"""The scheduled purge Lambda (`handlers/purge.py`) against DynamoDB on moto server."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.adapters.dynamodb_store import DynamoSessionStore
from bot.errors import StoreUnavailable
from bot.models import Session
from handlers.purge import handler
from tests.fakes import slack_user


class LambdaContext:
    function_name = "paybot-test-purge"


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """The handler configures root logging as on Lambda; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def table(sessions_table: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sessions table on moto, named in SESSIONS_TABLE as the deployment names it."""
    monkeypatch.setenv("SESSIONS_TABLE", sessions_table)
    monkeypatch.setenv("SESSION_STORE", "dynamodb")
    return sessions_table


def session(user_id: str, *, expires_in: int) -> Session:
    return Session(tenant_id="T1", user_id=user_id, expires_at=int(time.time()) + expires_in)


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "detail": {},
    }


def test_purge_deletes_expired_sessions_and_returns_the_count(
    table: str, dynamodb_client: Any
) -> None:
    store = DynamoSessionStore(table, client=dynamodb_client)
    store.save(session("UOLD1", expires_in=-60), expected_version=0)
    store.save(session("UOLD2", expires_in=-1), expected_version=0)

    result = handler(scheduled_event(), LambdaContext())

    assert result == {"deleted": 2}
    assert dynamodb_client.scan(TableName=table)["Count"] == 0


def test_purge_keeps_live_sessions(table: str, dynamodb_client: Any) -> None:
    store = DynamoSessionStore(table, client=dynamodb_client)
    store.save(session("UOLD", expires_in=-60), expected_version=0)
    live = store.save(session("ULIVE", expires_in=3600), expected_version=0)

    handler(scheduled_event(), LambdaContext())

    assert store.get(slack_user("T1", "ULIVE")) == live


def test_purge_of_a_table_without_expired_sessions_deletes_nothing(table: str) -> None:
    assert handler(scheduled_event(), LambdaContext()) == {"deleted": 0}


def test_purge_logs_how_many_sessions_it_deleted(
    table: str, dynamodb_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    store = DynamoSessionStore(table, client=dynamodb_client)
    store.save(session("UOLD", expires_in=-60), expected_version=0)

    handler(scheduled_event(), LambdaContext())

    assert f"deleted 1 expired sessions from {table}" in capsys.readouterr().err


def test_purge_that_cannot_reach_dynamodb_fails_the_invocation(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    with pytest.raises(StoreUnavailable, match="purge"):
        handler(scheduled_event(), LambdaContext())
