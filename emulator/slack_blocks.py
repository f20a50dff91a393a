"""Block Kit checked with slack_sdk's own models, reported the way Slack reports it.

Slack refuses a message whose blocks break Block Kit with `invalid_blocks`, and a view that does
with `invalid_arguments`; either way `response_metadata.messages` says what and where, e.g.
"[ERROR] missing required field: title [json-pointer:/view]". The checks here are slack_sdk's:
each block goes through `Block.parse` and `to_dict()` (which runs every `JsonValidator` of the
block and of its elements), each view through `View` and `validate_json()`. A field the models
do not know, a value they would rewrite (plain text where a text object belongs) or an empty
one they drop is refused too, as Slack refuses it. The wording of each message is slack_sdk's
where it has one; the envelope and the JSON pointers are Slack's.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

__all__ = [
    "MAX_MESSAGE_BLOCKS",
    "block_problems",
    "view_problems",
]

MAX_MESSAGE_BLOCKS = 50
"""Slack's limit on blocks in one message (a view allows `View.blocks_max_length`, 100)."""

_MODEL_ERRORS = (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError)
_MISSING_ARGUMENTS = re.compile(
    r"missing \d+ required (?:keyword-only |positional )?arguments?: (.+)"
)


def block_problems(
    blocks: Sequence[Any], pointer: str = "/blocks", *, limit: int = MAX_MESSAGE_BLOCKS
) -> list[str]:
    """Slack's "[ERROR] … [json-pointer:…]" messages for `blocks`; empty when all are valid."""
    problems = []
    if len(blocks) > limit:
        problems.append(_error(f"no more than {limit} items allowed", pointer))
    for index, block in enumerate(blocks):
        problems.extend(_block_problems(block, f"{pointer}/{index}"))
    return problems


def view_problems(view: object, *, kinds: Sequence[str], pointer: str = "/view") -> list[str]:
    """Slack's messages for a `views.*` payload whose type must be one of `kinds`."""
    if not isinstance(view, Mapping):
        return [_error("must provide an object", pointer)]
    problems = [
        _error(f"missing required field: {name}", pointer)
        for name in _required(view)
        if view.get(name) in (None, "")
    ]
    if view.get("type") not in (None, "", *kinds):
        problems.append(_error(f"must be one of {', '.join(kinds)}", f"{pointer}/type"))
    blocks = view.get("blocks")
    if isinstance(blocks, list):
        if view.get("submit") is None and view.get("type") == "modal" and _has_input(blocks):
            problems.append(_error("submit is required when an input block is present", pointer))
        problems.extend(_view_level_problems(view, len(blocks), pointer))
        problems.extend(block_problems(blocks, f"{pointer}/blocks", limit=View.blocks_max_length))
    elif blocks is not None:
        problems.append(_error("must provide an array", f"{pointer}/blocks"))
    return list(dict.fromkeys(problems))


def _required(view: Mapping[str, Any]) -> tuple[str, ...]:
    return ("type", "title", "blocks") if view.get("type") == "modal" else ("type", "blocks")


def _has_input(blocks: list[Any]) -> bool:
    return any(isinstance(block, Mapping) and block.get("type") == "input" for block in blocks)


def _view_level_problems(view: Mapping[str, Any], count: int, pointer: str) -> list[str]:
    """The view's own fields; its blocks are checked one by one, so only their count counts."""
    shell = {key: value for key, value in view.items() if key != "blocks"}
    try:
        parsed = View(**copy.deepcopy(shell), blocks=[{"type": "divider"}] * count)
        parsed.validate_json()
    except _MODEL_ERRORS as exc:
        return [_error(_reason(exc), pointer)]
    known = parsed.get_non_null_attributes()
    known.pop("blocks", None)
    return _unrecognised(shell, known, pointer)


def _block_problems(block: object, pointer: str) -> list[str]:
    if not isinstance(block, Mapping):
        return [_error("must provide an object", pointer)]
    if not isinstance(block.get("type"), str):
        return [_error("missing required field: type", pointer)]
    original = dict(block)
    try:
        parsed = Block.parse(copy.deepcopy(original))
        if parsed is None:
            return [_error(f"unsupported block type: {original['type']}", f"{pointer}/type")]
        shown = parsed.to_dict()
    except _MODEL_ERRORS as exc:
        return [_error(_reason(exc), pointer)]
    return _unrecognised(original, shown, pointer)


def _unrecognised(original: object, shown: object, pointer: str) -> list[str]:
    """Where `shown` (what the model made of `original`) lost or changed something."""
    if isinstance(original, Mapping) and isinstance(shown, Mapping):
        problems = []
        for key, value in original.items():
            where = f"{pointer}/{key}"
            if value is None:
                continue  # null reads as absent; a missing required field is reported as such
            if key not in shown:
                empty = hasattr(value, "__len__") and len(value) == 0
                reason = "must not be empty" if empty else f"unsupported field: {key}"
                problems.append(_error(reason, where))
            else:
                problems.extend(_unrecognised(value, shown[key], where))
        return problems
    if isinstance(original, list) and isinstance(shown, list) and len(original) == len(shown):
        return [
            problem
            for index, (item, seen) in enumerate(zip(original, shown, strict=True))
            for problem in _unrecognised(item, seen, f"{pointer}/{index}")
        ]
    if isinstance(shown, Mapping) and not isinstance(original, Mapping):
        return [_error("must provide an object", pointer)]
    if original != shown:
        return [_error("invalid value", pointer)]
    return []


def _reason(exc: Exception) -> str:
    missing = _MISSING_ARGUMENTS.search(str(exc))
    if isinstance(exc, TypeError) and missing is not None:
        names = ", ".join(name.strip(" '") for name in re.split(r",| and ", missing.group(1)))
        return f"missing required field: {names}"
    return str(exc)


def _error(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"
