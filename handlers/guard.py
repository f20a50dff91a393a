"""The door before Bolt: a Slack signature first, then a body of a shape Slack sends.

Bolt parses a body before it checks the signature, and its middleware and our
listeners index into what Slack documents. A body that is not what Slack sends
gets a 401 (unsigned) or a 400 (signed but malformed) here, never a 500 there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if k.lower() == wanted), "")


def check(body: bytes, headers: Mapping[str, str], signing_secret: str) -> tuple[int, str] | None:
    """None when the request may go on to Bolt; else the (status, reason) to answer with."""
    verifier = SignatureVerifier(signing_secret)
    try:
        signed = verifier.is_valid(
            body,
            _header(headers, "X-Slack-Request-Timestamp"),
            _header(headers, "X-Slack-Signature"),
        )
    except (ValueError, UnicodeDecodeError):  # a timestamp or body that does not parse
        signed = False
    if not signed:
        return 401, "invalid signature"
    problem = malformed(body, _header(headers, "Content-Type"))
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


def _json_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return "body is not a JSON object"
    if data.get("type") != "event_callback":
        return None
    event = data.get("event")
    if not isinstance(event, dict):
        return "event is not an object"
    if event.get("type") == "message" and not isinstance(event.get("channel"), str):
        return "message event without a channel"
    return None


def _command_problem(form: Mapping[str, str]) -> str | None:
    if "command" in form and not (form.get("user_id") and form.get("team_id")):
        return "command without a user or team"
    return None


def _payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "payload is not a JSON object"
    user = payload.get("user")
    if not (isinstance(user, dict) and isinstance(user.get("id"), str) and user["id"]):
        return "payload without a user"
    view = payload.get("view")
    if view is not None and not isinstance(view, dict):
        return "view is not an object"
    return None
