"""Every payload shape Slack documents gets past the guard: paybot's listeners (or a
catch-all) ack it, Bolt answers 404 for what paybot does not handle, never a 400 or a 500.

The guard still refuses what cannot be a Slack payload, and a genuine message carrying a
card number still never becomes lazy (re-invoked) work on Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.cards import contains_pan
from emulator.slack_requests import SlackRequest
from handlers.slack import guard
from tests.integration.harness import Paybot, running_paybot
from tests.reliability.slack_payload_corpus import (
    EVENTS,
    MESSAGES,
    OUTER,
    PAYLOADS,
    event_callback,
)
from tests.security.rig import RUNTIMES, Rig, Store

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
PAN = "4242 4242 4242 4242"


def json_request(data: dict[str, Any]) -> SlackRequest:
    return SlackRequest(body=json.dumps(data).encode(), content_type=JSON_TYPE, data=data)


def payload_request(payload: dict[str, Any]) -> SlackRequest:
    fields = {"payload": json.dumps(payload)}
    return SlackRequest(body=urlencode(fields).encode(), content_type=FORM_TYPE, data=payload)


CORPUS: dict[str, SlackRequest] = {
    **{f"event {t}": json_request(event_callback(t, e)) for t, e in EVENTS.items()},
    **{f"message {s}": json_request(event_callback("message", e)) for s, e in MESSAGES.items()},
    **{f"delivery {t}": json_request(body) for t, body in OUTER.items()},
    **{f"payload {name}": payload_request(body) for name, body in PAYLOADS.items()},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paybot]:
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        running_paybot(tmp_path_factory.mktemp("genuine"), monkeypatch) as paybot,
    ):
        yield paybot


def test_the_corpus_covers_the_events_the_issue_found_refused() -> None:
    assert {"im_created", "channel_created", "user_change", "team_join"} <= set(EVENTS)
    assert len(EVENTS) >= 90


@pytest.mark.parametrize("request_", CORPUS.values(), ids=CORPUS.keys())
def test_the_guard_lets_every_genuine_slack_payload_through(request_: SlackRequest) -> None:
    assert guard.malformed(request_.body, request_.content_type) is None


@pytest.mark.parametrize("request_", CORPUS.values(), ids=CORPUS.keys())
def test_a_genuine_slack_payload_is_acked_or_not_found_never_refused_or_a_server_error(
    served: Paybot, request_: SlackRequest
) -> None:
    answer = served.send(request_)
    assert answer.status in (200, 404), f"HTTP {answer.status}: {answer.body[:200]!r}"
    assert "Traceback" not in answer.body


NOT_SLACK: dict[str, Any] = {
    "a JSON array": [1, 2],
    "no type": {"team_id": "T1", "event": {"type": "message"}},
    "a type that is a number": {"type": 5},
    "an event that is a string": {"type": "event_callback", "event": "message"},
    "an event without a type": {"type": "event_callback", "event": {"user": "U1"}},
    "an event user that is a number": {
        "type": "event_callback",
        "event": {"type": "team_join", "user": 45},
    },
    "an event channel that is a list": {
        "type": "event_callback",
        "event": {"type": "channel_created", "channel": ["C1"]},
    },
    "authorizations that are a string": {
        "type": "event_callback",
        "authorizations": "T1",
        "event": {"type": "app_uninstalled"},
    },
    "a message without a channel": {
        "type": "event_callback",
        "event": {"type": "message", "user": "U1", "text": PAN},
    },
}


@pytest.mark.parametrize("data", NOT_SLACK.values(), ids=NOT_SLACK.keys())
def test_what_cannot_be_a_slack_payload_is_still_refused(data: Any) -> None:
    assert guard.malformed(json.dumps(data).encode(), JSON_TYPE) is not None


def _with_pan(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "text": f"my card is {PAN}"}


CARD_MESSAGES = {
    name: json_request(event_callback("message", _with_pan(event)))
    for name, event in MESSAGES.items()
    if "text" in event
}


@pytest.mark.parametrize("rig", [("lambda", "sqlite")], indirect=True, ids=["lambda/sqlite"])
def test_no_genuine_message_with_a_card_number_becomes_lazy_work_on_lambda(rig: Rig) -> None:
    statuses = {}
    for name, request in CARD_MESSAGES.items():
        statuses[name] = rig.send(request).status
    assert set(statuses.values()) <= {200, 404}, statuses
    assert rig.invokes is not None
    deferred = [p for p in rig.invokes.payloads if contains_pan(json.dumps(p))]
    assert deferred == []
    assert rig.crashes == []


@pytest.fixture
def rig(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Rig]:
    runtime, store_kind = request.param
    with RUNTIMES[runtime](tmp_path, monkeypatch, Store(store_kind, tmp_path / "s.db")) as running:
        yield running
