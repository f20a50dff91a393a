"""The reliability suite's fixtures: the served app on either session store, and its figures."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

import pytest

from tests.integration import harness
from tests.integration.harness import Paybot, running_paybot
from tests.reliability.stores import DynamoStoreUnderTest, SqliteStoreUnderTest, StoreUnderTest

_FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture(autouse=True)
def quick_shutdown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Served apps notice shutdown within 50 ms instead of socketserver's 0.5 s poll."""
    make = harness.make

    def make_quick(*args: Any, **kwargs: Any) -> WSGIServer:
        server = make(*args, **kwargs)
        server.serve_forever = functools.partial(server.serve_forever, poll_interval=0.05)  # type: ignore[method-assign]
        return server

    monkeypatch.setattr(harness, "make", make_quick)


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one line of measured figures; all are printed at the end of the run."""
    lines = request.config.stash.setdefault(_FIGURES, [])

    def record(line: str) -> None:
        lines.append(line)
        print(line)

    return record


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreUnderTest:
    """Each session store in turn: SQLite on a temporary file, DynamoDB on moto server."""
    if request.param == "sqlite":
        return SqliteStoreUnderTest(tmp_path / "sessions.db")
    table = request.getfixturevalue("sessions_table")
    return DynamoStoreUnderTest(table, request.getfixturevalue("dynamodb_client"))


@pytest.fixture
def paybot_on_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: StoreUnderTest
) -> Iterator[Paybot]:
    """The served app (rule engine) on the store under test."""
    with running_paybot(tmp_path, monkeypatch, **store.environment) as running:
        yield running
