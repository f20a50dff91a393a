"""The door before Bolt: a Slack signature first, then a body that can be a Slack payload.

Bolt parses a body before it checks the signature, and its middleware reads a few
fields of every payload (user, channel, team, authorizations) before any listener
runs. A body that cannot be a Slack payload gets a 401 (unsigned) or a 400 (signed
but malformed) here, never a 500 there. Anything Slack can send goes on to Bolt, which
acks it where paybot has a listener (or a catch-all) and answers 404 where it has none:
this door must not encode a narrower Slack than Slack's own documentation.

Message events are held to the types Slack documents for them because they are what
paybot answers: their text may carry a card number, and a listener that trips on an
odd field must not turn one into a 500 (and a retried delivery) or a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from handlers.http import header


def check(
    body: bytes, headers: Mapping[str, str], signing_secret: str, *, clock: Clock | None = None
) -> tuple[int, str] | None:
    """None when the request may go on to Bolt; else the (status, reason) to answer with.

    Args:
        clock: what "now" is for Slack's five-minute window; the system's by default.
    """
    verifier = SignatureVerifier(signing_secret, clock=clock or Clock())
    try:
        signed = verifier.is_valid(
            body,
            header(headers, "X-Slack-Request-Timestamp"),
            header(headers, "X-Slack-Signature"),
        )
    except Exception:  # whatever cannot even be checked (a non-ASCII signature makes
        signed = False  # hmac.compare_digest raise TypeError) is not signed
    if not signed:
        return 401, "invalid signature"
    problem = malformed(body, header(headers, "Content-Type"))
    return (400, problem) if problem else None


def malformed(body: bytes, content_type: str) -> str | None:
    """Why Slack would never send `body`, or None."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json"):
            return _json_problem(json.loads(text))
        form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
        if "payload" in form:
            return _payload_problem(json.loads(form["payload"]))
        return _command_problem(form)
    except (UnicodeDecodeError, ValueError):
        return "body is not what Slack sends"


_SLACK_ID = re.compile(r"^[A-Z0-9]{1,64}$")
_OPTIONAL_OBJECTS = ("team", "enterprise", "channel", "container", "message", "view", "user")
_OPTIONAL_STRINGS = ("type", "team_id", "trigger_id")
_NULLABLE_STRINGS = ("enterprise_id", "api_app_id")
_OPTIONAL_LISTS_OF_OBJECTS = ("authorizations", "response_urls", "actions")
_ID_OR_OBJECT = ("user", "channel", "team", "enterprise")
"""Event fields Bolt reads from every event: Slack sends each as an id or as an object."""
_MESSAGE_STRINGS = ("user", "channel", "text", "subtype", "bot_id", "ts", "channel_type")


def _slack_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SLACK_ID.match(value))


def _list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _envelope_problem(data: dict[str, Any]) -> str | None:
    """The top-level fields Bolt reads before any listener runs, and their types."""
    if not isinstance(data.get("type"), str):
        return "no type"
    for key in _OPTIONAL_STRINGS:
        if key in data and not isinstance(data[key], str):
            return f"{key} is not a string"
    for key in _NULLABLE_STRINGS:
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"{key} is not a string"
    for key in _OPTIONAL_OBJECTS:
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} is not an object"
    for key in _OPTIONAL_LISTS_OF_OBJECTS:
        if key in data and not _list_of_objects(data[key]):
            return f"{key} is not a list of objects"
    return None


def _json_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "body is not a JSON object"
    problem = _envelope_problem(data)
    if problem or (data.get("type") != "event_callback" and "event" not in data):
        return problem
    event = data.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "event is not an object with a type"
    for key in _ID_OR_OBJECT:
        if event.get(key) is not None and not isinstance(event[key], (str, dict)):
            return f"event {key} is neither an id nor an object"
    return _message_problem(event) if event["type"] == "message" else None


def _message_problem(event: dict[str, Any]) -> str | None:
    """A message event's fields as Slack documents them: the listeners read these."""
    for key in _MESSAGE_STRINGS:
        if key in event and not isinstance(event[key], str):
            return f"message {key} is not a string"
    if "channel" not in event:
        return "message event without a channel"
    if "user" in event and not _slack_id(event["user"]):
        return "message user is not a Slack id"
    return None


def _command_problem(form: Mapping[str, str]) -> str | None:
    if "command" in form and not (
        _slack_id(form.get("user_id")) and _slack_id(form.get("team_id"))
    ):
        return "command without a user or team"
    return None


def _payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "payload is not a JSON object"
    problem = _envelope_problem(payload)
    if problem:
        return problem
    user = payload.get("user")
    if not (isinstance(user, dict) and _slack_id(user.get("id"))):
        return "payload without a user"
    if payload.get("type") == "block_actions":
        actions = payload.get("actions")
        if not actions:
            return "block_actions without actions"
        if not all(isinstance(a.get("action_id"), str) for a in actions):
            return "an action without an action_id"
    message = payload.get("message") or {}
    if not _list_of_objects(message.get("blocks", [])):
        return "message blocks are not objects"
    return None
