"""Fixtures for the adversarial suite, and its figures at the end of the pytest output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security import figures
from tests.security.rig import RUNTIMES, Rig, Store


@pytest.fixture
def rig(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    """The product on the runtime and store the parameter names, with any settings it adds."""
    runtime, store_kind, *more = request.param
    settings: dict[str, str] = more[0] if more else {}
    store = Store(store_kind, sqlite_path=tmp_path / "sessions.db")
    if store_kind == "dynamodb":
        store.table = request.getfixturevalue("sessions_table")
        store.dynamodb = request.getfixturevalue("dynamodb_client")
    with RUNTIMES[runtime](tmp_path, monkeypatch, store, **settings) as running:
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = figures.recorded()
    if lines:
        terminalreporter.section("security figures")
        for line in lines.values():
            terminalreporter.write_line(line)
