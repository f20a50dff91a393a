"""The door before Bolt: a Slack signature first, then a body of a shape Slack sends.

Bolt parses a body before it checks the signature, and its middleware and our
listeners index into what Slack documents. A body that is not what Slack sends
gets a 401 (unsigned) or a 400 (signed but malformed) here, never a 500 there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from handlers.links import header


def check(body: bytes, headers: Mapping[str, str], signing_secret: str) -> tuple[int, str] | None:
    """None when the request may go on to Bolt; else the (status, reason) to answer with."""
    verifier = SignatureVerifier(signing_secret)
    try:
        signed = verifier.is_valid(
            body,
            header(headers, "X-Slack-Request-Timestamp"),
            header(headers, "X-Slack-Signature"),
        )
    except (ValueError, UnicodeDecodeError):  # a timestamp or body that does not parse
        signed = False
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


def _slack_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_SLACK_ID.match(value))


def _envelope_problem(data: dict[str, Any]) -> str | None:
    """The fields Bolt reads before any listener runs, and their types."""
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
    for key in ("user", "channel", "text", "subtype", "bot_id", "ts", "channel_type"):
        if key in event and not isinstance(event[key], str):
            return f"event {key} is not a string"
    if event["type"] == "message" and not isinstance(event.get("channel"), str):
        return "message event without a channel"
    if "user" in event and not _slack_id(event["user"]):
        return "event user is not a Slack id"
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
        if not (isinstance(actions, list) and actions):
            return "block_actions without actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "an action is not an object with an action_id"
    view = payload.get("view")
    if isinstance(view, dict) and view.get("type") not in ("modal", "home"):
        return "view is not a modal"
    message = payload.get("message") or {}
    blocks = message.get("blocks", [])
    if not (isinstance(blocks, list) and all(isinstance(b, dict) for b in blocks)):
        return "message blocks are not objects"
    return None
