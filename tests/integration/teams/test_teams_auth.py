"""Only Bot Framework's signed activities are answered; a keys outage is a 503, never a pass.

Each refused activity is checked to have changed nothing: no reply in the chat, no
session written.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.teams_tokens import Fault
from tests.integration.teams.harness import APP_ID, TeamsPaybot, running_teams, words


@pytest.fixture
def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamsPaybot]:
    with running_teams(tmp_path, monkeypatch) as running:
        yield running


def sessions(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        return int(db.execute("SELECT count(*) FROM sessions").fetchone()[0])


def keys_fetched(teams: TeamsPaybot) -> int:
    return sum(1 for entry in teams.tokens.recorder.log.entries if entry.route == "keys")


FORGED: dict[str, dict[str, Any]] = {
    "another bot's audience": {"aud": "11111111-2222-3333-4444-555555555555"},
    "expired": {"exp": int(time.time()) - 3600, "nbf": int(time.time()) - 7200},
    "another issuer": {"iss": "https://sts.windows.net/attacker/"},
    "another service url": {"serviceurl": "https://attacker.example/"},
    "no service url": {"serviceurl": None},
    "not yet valid": {"nbf": int(time.time()) + 3600},
}


@pytest.mark.parametrize("forgery", sorted(FORGED))
def test_a_token_bot_framework_would_not_send_is_refused_and_changes_nothing(
    teams: TeamsPaybot, tmp_path: Path, forgery: str
) -> None:
    token = teams.tokens.mint_inbound(APP_ID, teams.service_url, **FORGED[forgery])
    answer = teams.say("pay 45 USD INV-1001", token=token)
    assert answer.status == 401
    assert teams.posted() == []
    assert sessions(tmp_path) == 0


def test_a_token_signed_by_an_unpublished_key_is_refused(
    teams: TeamsPaybot, tmp_path: Path
) -> None:
    token = teams.tokens.mint_inbound(APP_ID, teams.service_url, foreign_key=True)
    assert teams.say("hi", token=token).status == 401
    assert teams.posted() == []
    assert sessions(tmp_path) == 0


@pytest.mark.parametrize("token", ["", "not.a.jwt", "Basic abc"])
def test_an_activity_without_a_bearer_token_is_refused(teams: TeamsPaybot, token: str) -> None:
    assert teams.say("hi", token=token).status == 401
    assert teams.posted() == []


def test_the_service_url_claim_must_match_the_activitys_own(teams: TeamsPaybot) -> None:
    """A genuine token for one chat's service URL cannot carry an activity naming another."""
    activity = teams.message(text="hi")
    activity["serviceUrl"] = "https://attacker.example/"
    assert teams.post(activity).status == 401
    assert teams.posted() == []


def test_unreachable_signing_keys_answer_503_so_teams_tries_again(
    teams: TeamsPaybot, tmp_path: Path
) -> None:
    teams.tokens.recorder.inject(Fault(route="keys", status=503), count=None)
    assert teams.say("hi").status == 503
    assert teams.posted() == []
    assert sessions(tmp_path) == 0

    teams.tokens.recorder.faults.clear()
    assert teams.say("hi").status == 200
    teams.wait_for_posts(1)


def test_a_dropped_keys_connection_is_a_503_too(teams: TeamsPaybot) -> None:
    teams.tokens.recorder.inject(Fault(route="keys", status=None, drop=True), count=None)
    assert teams.say("hi").status == 503
    assert teams.posted() == []


def test_the_signing_keys_are_fetched_once_and_kept(teams: TeamsPaybot) -> None:
    assert teams.say("hi").status == 200
    fetched = keys_fetched(teams)
    teams.tokens.recorder.inject(Fault(route="keys", status=503), count=None)

    assert teams.say("status").status == 200

    teams.wait_for_posts(2)
    assert keys_fetched(teams) == fetched


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"hi"'])
def test_a_body_that_is_not_an_activity_is_a_400(teams: TeamsPaybot, body: bytes) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{teams.url}/api/messages",
        data=body,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {teams.tokens.mint_inbound(APP_ID, teams.service_url)}",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400


def test_a_group_chat_is_told_to_use_a_personal_chat(teams: TeamsPaybot, tmp_path: Path) -> None:
    activity = teams.message(text="pay 45 USD INV-1")
    activity["conversation"]["conversationType"] = "groupChat"
    assert teams.post(activity).status == 200
    (reply,) = teams.wait_for_posts(1)
    assert "personal chat" in words(reply)
    assert sessions(tmp_path) == 0


def test_an_activity_without_the_persons_directory_id_takes_no_payment(
    teams: TeamsPaybot, tmp_path: Path
) -> None:
    activity = teams.message(text="pay 45 USD INV-1")
    del activity["from"]["aadObjectId"]
    assert teams.post(activity).status == 200
    (reply,) = teams.wait_for_posts(1)
    assert "couldn't tell who you are" in words(reply)
    assert sessions(tmp_path) == 0
