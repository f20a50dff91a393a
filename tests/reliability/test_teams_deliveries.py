"""Teams redelivers what it thinks failed, and a person can send two things at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from emulator.teams_tokens import Fault
from tests.integration.teams.harness import TeamsPaybot, running_teams, words


@pytest.fixture
def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamsPaybot]:
    with running_teams(tmp_path, monkeypatch) as running:
        yield running


def test_a_redelivered_activity_is_answered_once(teams: TeamsPaybot) -> None:
    activity = teams.message(text="pay 45 USD INV-1001")
    assert teams.post(activity).status == 200
    teams.wait_for_posts(1)

    assert teams.post(activity).status == 200  # the same activity id, as a retry carries

    assert len(teams.posted()) == 1
    assert len(teams.stripe.checkout_sessions) == 1


def test_an_activity_whose_reply_failed_is_answered_when_teams_retries(teams: TeamsPaybot) -> None:
    activity = teams.message(text="status")
    teams.connector.recorder.inject(Fault(route="send", status=502), count=None)
    assert teams.post(activity).status >= 500  # nothing was said: Teams should try again
    assert teams.posted() == []

    teams.connector.recorder.faults.clear()
    assert teams.post(activity).status == 200

    (reply,) = teams.wait_for_posts(1)
    assert "No payment in progress" in words(reply)


def test_two_messages_at_once_are_both_answered_and_both_kept(
    teams: TeamsPaybot, tmp_path: Path
) -> None:
    first = teams.message(text="I need to pay invoice INV-3003")
    second = teams.message(text="it is $75")
    second["id"] = str(int(first["id"]) + 1)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(teams.post, [first, second]))

    assert [a.status for a in answers] == [200, 200]
    teams.wait_for_posts(2)
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        (data,) = db.execute("SELECT data FROM sessions").fetchone()
    assert '"reference":"INV-3003"' in data
    assert '"amount":"75"' in data
