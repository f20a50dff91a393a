"""The door before Bolt names exactly why a signed body cannot be a Slack payload.

Each refusal's reason is checked word for word, and each acceptance is a body Slack
really sends: the reasons are what an operator reads in the 400, so a reason that
drifts, or a check that stops applying, is a regression.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from handlers.slack.guard import check, malformed

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def as_json(data: Any) -> str | None:
    return malformed(json.dumps(data).encode(), JSON)


def as_payload(payload: Any) -> str | None:
    return malformed(urlencode({"payload": json.dumps(payload)}).encode(), FORM)


def as_command(**form: str) -> str | None:
    return malformed(urlencode(form).encode(), FORM)


def event_callback(event: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": "T1", "event": event, **extra}


MESSAGE = {"type": "message", "channel": "D1", "user": "U1", "text": "hi", "ts": "1.2"}


# -- JSON bodies: the envelope ------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "body is not a JSON object"),
        ("event_callback", "body is not a JSON object"),
        ({}, "no type"),
        ({"type": 7}, "no type"),
        ({"type": "event_callback", "team_id": 1}, "team_id is not a string"),
        ({"type": "event_callback", "trigger_id": None}, "trigger_id is not a string"),
        ({"type": "event_callback", "enterprise_id": 3}, "enterprise_id is not a string"),
        ({"type": "event_callback", "api_app_id": ["A1"]}, "api_app_id is not a string"),
        ({"type": "event_callback", "team": "T1"}, "team is not an object"),
        ({"type": "event_callback", "user": ["U1"]}, "user is not an object"),
        (
            {"type": "event_callback", "authorizations": {}},
            "authorizations is not a list of objects",
        ),
        ({"type": "event_callback", "actions": ["a"]}, "actions is not a list of objects"),
    ],
)
def test_a_json_envelope_slack_never_sends_is_refused_with_its_reason(
    data: Any, reason: str
) -> None:
    assert as_json(data) == reason


def test_null_optional_ids_and_objects_are_what_slack_sends() -> None:
    data = {"type": "url_verification", "enterprise_id": None, "api_app_id": None, "team": None}
    assert as_json(data) is None


def test_json_that_is_not_json_or_not_utf8_is_not_what_slack_sends() -> None:
    assert malformed(b"{not json", JSON) == "body is not what Slack sends"
    assert malformed(b"\xff\xfe", JSON) == "body is not what Slack sends"


# -- JSON bodies: when the event is held to Slack's shape ---------------------


def test_an_event_callback_without_an_event_is_refused() -> None:
    assert as_json({"type": "event_callback"}) == "event is not an object with a type"


def test_an_event_without_a_type_is_refused_whatever_the_envelope_type() -> None:
    # "event" present is enough to check it, even when the envelope is not event_callback.
    assert as_json({"type": "app_rate_limited", "event": {}}) == (
        "event is not an object with a type"
    )
    assert as_json({"type": "app_rate_limited", "event": {"type": 1}}) == (
        "event is not an object with a type"
    )


def test_an_envelope_that_is_not_an_event_callback_and_has_no_event_passes() -> None:
    assert as_json({"type": "url_verification", "challenge": "x"}) is None


def test_an_envelope_problem_wins_over_the_event() -> None:
    assert as_json(event_callback({}, team_id=5)) == "team_id is not a string"


@pytest.mark.parametrize("key", ["user", "channel", "team", "enterprise"])
def test_an_event_field_bolt_reads_must_be_an_id_or_an_object(key: str) -> None:
    event = {"type": "app_mention", key: 12}
    assert as_json(event_callback(event)) == f"event {key} is neither an id nor an object"


@pytest.mark.parametrize("value", ["U1", {"id": "U1"}, None])
def test_an_event_field_may_be_an_id_an_object_or_null(value: Any) -> None:
    assert as_json(event_callback({"type": "app_mention", "user": value})) is None


def test_a_message_event_slack_sends_passes() -> None:
    assert as_json(event_callback(MESSAGE)) is None
    bot_message = {"type": "message", "channel": "C1", "subtype": "bot_message", "bot_id": "B1"}
    assert as_json(event_callback(bot_message)) is None


@pytest.mark.parametrize("key", ["text", "subtype", "bot_id", "ts", "channel_type"])
def test_a_message_field_must_be_a_string(key: str) -> None:
    assert as_json(event_callback({**MESSAGE, key: 5})) == f"message {key} is not a string"


@pytest.mark.parametrize("key", ["user", "channel"])
def test_a_message_user_or_channel_as_an_object_is_refused(key: str) -> None:
    # an object passes the check every event gets, but not a message listener's
    event = {**MESSAGE, key: {"id": "X1"}}
    assert as_json(event_callback(event)) == f"message {key} is not a string"


def test_a_message_without_a_channel_is_refused() -> None:
    event = {k: v for k, v in MESSAGE.items() if k != "channel"}
    assert as_json(event_callback(event)) == "message event without a channel"


@pytest.mark.parametrize("user", ["u1", "", "U 1", "U" * 65])
def test_a_message_user_must_be_a_slack_id(user: str) -> None:
    assert as_json(event_callback({**MESSAGE, "user": user})) == "message user is not a Slack id"


def test_a_message_user_of_64_id_characters_is_a_slack_id() -> None:
    assert as_json(event_callback({**MESSAGE, "user": "U" * 64})) is None


def test_only_message_events_are_held_to_the_message_rules() -> None:
    assert as_json(event_callback({"type": "app_mention", "text": 5})) is None


# -- slash commands -----------------------------------------------------------


def test_a_command_with_a_user_and_team_passes() -> None:
    assert as_command(command="/pay", user_id="U1", team_id="T1", text="45 USD") is None


@pytest.mark.parametrize(
    "form",
    [
        {"command": "/pay", "team_id": "T1"},
        {"command": "/pay", "user_id": "U1"},
        {"command": "/pay", "user_id": "u1", "team_id": "T1"},
        {"command": "/pay", "user_id": "U1", "team_id": "t1"},
        {"command": "/pay", "user_id": "U1", "team_id": ""},
    ],
)
def test_a_command_without_a_user_or_team_id_is_refused(form: dict[str, str]) -> None:
    assert as_command(**form) == "command without a user or team"


def test_a_form_that_is_not_a_command_is_not_held_to_the_command_rules() -> None:
    assert as_command(ssl_check="1", token="x") is None


# -- interactivity payloads ---------------------------------------------------

USER = {"id": "U1"}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ([], "payload is not a JSON object"),
        ({"user": USER}, "no type"),
        ({"type": "view_submission", "view": "v"}, "view is not an object"),
        ({"type": "view_submission"}, "payload without a user"),
        ({"type": "view_submission", "user": "U1"}, "user is not an object"),
        ({"type": "view_submission", "user": {}}, "payload without a user"),
        ({"type": "view_submission", "user": {"id": "u1"}}, "payload without a user"),
        ({"type": "block_actions", "user": USER}, "block_actions without actions"),
        ({"type": "block_actions", "user": USER, "actions": []}, "block_actions without actions"),
        (
            {"type": "block_actions", "user": USER, "actions": [{"action_id": "a"}, {}]},
            "an action without an action_id",
        ),
        (
            {"type": "view_submission", "user": USER, "message": {"blocks": ["b"]}},
            "message blocks are not objects",
        ),
    ],
)
def test_a_payload_slack_never_sends_is_refused_with_its_reason(payload: Any, reason: str) -> None:
    assert as_payload(payload) == reason


def test_a_button_press_slack_sends_passes() -> None:
    payload = {
        "type": "block_actions",
        "user": USER,
        "actions": [{"action_id": "pay"}],
        "message": {"blocks": [{"type": "section"}]},
    }
    assert as_payload(payload) is None


def test_a_payload_that_is_not_json_is_not_what_slack_sends() -> None:
    assert malformed(b"payload=%7Bnope", FORM) == "body is not what Slack sends"


def test_actions_are_only_required_of_block_actions() -> None:
    assert as_payload({"type": "view_closed", "user": USER}) is None


def test_an_empty_payload_field_is_not_what_slack_sends() -> None:
    # A blank value is kept, and read: Slack never posts "payload=" with nothing in it.
    assert malformed(b"payload=", FORM) == "body is not what Slack sends"


# -- the door as a whole: signature first, then the body ----------------------


def signed_headers(body: bytes, content_type: str = JSON) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


SECRET = "guard-test-secret"


def test_a_signed_body_that_cannot_be_a_slack_payload_is_a_400_with_its_reason() -> None:
    body = b'{"type": 7}'
    assert check(body, signed_headers(body), SECRET) == (400, "no type")


def test_a_signed_slack_payload_goes_on() -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c"}).encode()
    assert check(body, signed_headers(body), SECRET) is None


def test_an_unsigned_body_is_a_401_before_it_is_read() -> None:
    body = b"not even json"
    headers = {**signed_headers(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert check(body, headers, SECRET) == (401, "invalid signature")
