"""Reading a Web API call's arguments as Slack does: text, blocks, attachments, views."""

from __future__ import annotations

import json
from typing import Any

from emulator.slack_api.models import (
    MAX_TEXT_LENGTH,
    MAX_VIEW_BYTES,
    Args,
    Content,
    SlackError,
    string_arg,
)
from emulator.slack_blocks import block_problems, view_problems
from emulator.slack_requests import blocks_with_ids


def flag_arg(args: Args, name: str) -> bool:
    return str(args.get(name, "")).lower() in {"1", "true"}


def _json_list(args: Args, name: str, error: str) -> list[Any] | None:
    value = args.get(name)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError(error) from None
    if value is None:
        return None
    if not isinstance(value, list):
        raise SlackError(error)
    return value


def message_content(args: Args) -> Content:
    text = string_arg(args, "text") or string_arg(args, "markdown_text") or ""
    blocks = _json_list(args, "blocks", "invalid_blocks_format")
    attachments = _json_list(args, "attachments", "invalid_attachments")
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if len(text) > MAX_TEXT_LENGTH:
        raise SlackError("msg_too_long")
    if blocks:
        problems = block_problems(blocks)
        if problems:
            raise SlackError("invalid_blocks", *problems)
    return Content(text, blocks_with_ids(blocks) if blocks else None, attachments)


def modal_arg(args: Args) -> dict[str, Any]:
    return view_arg(args, kinds=("modal",))


def view_arg(args: Args, *, kinds: tuple[str, ...]) -> dict[str, Any]:
    """The `view` argument, checked as Slack checks it (Block Kit through slack_sdk's models)."""
    view = args.get("view")
    if view is None or view == "":
        raise SlackError("invalid_arguments", "[ERROR] missing required field: view")
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            raise SlackError("invalid_arguments", "[ERROR] view must be a JSON object") from None
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments", "[ERROR] view must be a JSON object")
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    problems = view_problems(view, kinds=kinds)
    if problems:
        raise SlackError("invalid_arguments", *problems)
    return view
