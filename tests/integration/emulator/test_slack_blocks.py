"""The Block Kit check the Slack stand-in runs, with slack_sdk's models, on what apps send."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.slack_blocks import block_problems, view_problems
from emulator.slack_requests import blocks_with_ids

SECTION: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": "*Pay* 45 USD"}}
BUTTONS: dict[str, Any] = {
    "type": "actions",
    "elements": [
        {
            "type": "button",
            "action_id": "go",
            "text": {"type": "plain_text", "text": "Go", "emoji": True},
            "style": "primary",
            "value": "go",
        }
    ],
}
INPUT: dict[str, Any] = {
    "type": "input",
    "block_id": "name",
    "label": {"type": "plain_text", "text": "Name"},
    "element": {"type": "plain_text_input", "action_id": "name", "max_length": 100},
}


def modal(**changes: Any) -> dict[str, Any]:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Pay"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [SECTION, INPUT],
    }
    view.update(changes)
    return view


def test_valid_blocks_have_no_problems() -> None:
    assert block_problems([SECTION, BUTTONS, INPUT, {"type": "divider"}]) == []


def test_blocks_as_slack_reports_them_back_are_valid_to_send_again() -> None:
    assert block_problems(blocks_with_ids([SECTION, BUTTONS, INPUT])) == []


@pytest.mark.parametrize(
    ("block", "message", "pointer"),
    [
        ("divider", "must provide an object", "/blocks/0"),
        ({"text": "x"}, "missing required field: type", "/blocks/0"),
        ({"type": "teleport"}, "unsupported block type: teleport", "/blocks/0/type"),
        ({**SECTION, "colour": "red"}, "unsupported field: colour", "/blocks/0/colour"),
        ({"type": "section", "text": "plain words"}, "must provide an object", "/blocks/0/text"),
        (
            {"type": "section", "text": {"type": "mrkdwn", "text": ""}},
            "must not be empty",
            "/blocks/0/text/text",
        ),
        (
            {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
            "text attribute cannot exceed 3000 characters",
            "/blocks/0",
        ),
        (
            {**BUTTONS, "elements": [{**BUTTONS["elements"][0], "style": "loud"}]},
            "style attribute must be one of the following values:",  # slack_sdk's order varies
            "/blocks/0",
        ),
        ({"type": "actions", "elements": []}, "must not be empty", "/blocks/0/elements"),
        (
            {**BUTTONS, "elements": [{**BUTTONS["elements"][0], "url": ""}]},
            "must not be empty",
            "/blocks/0/elements/0/url",
        ),
    ],
)
def test_each_invalid_block_is_named_with_its_json_pointer(
    block: Any, message: str, pointer: str
) -> None:
    [problem] = block_problems([block])

    assert problem.startswith(f"[ERROR] {message}")
    assert problem.endswith(f" [json-pointer:{pointer}]")


def test_a_modal_is_checked_field_by_field_and_block_by_block() -> None:
    problems = view_problems(
        modal(title=None, submit=None, blocks=[INPUT, {"type": "section"}]), kinds=("modal",)
    )

    assert problems == [
        "[ERROR] missing required field: title [json-pointer:/view]",
        "[ERROR] submit is required when an input block is present [json-pointer:/view]",
        "[ERROR] text or fields attribute must be specified [json-pointer:/view/blocks/1]",
    ]


def test_a_valid_modal_has_no_problems() -> None:
    assert (
        view_problems(modal(private_metadata="ref", callback_id="card_form"), kinds=("modal",))
        == []
    )


def test_a_view_with_no_blocks_is_refused() -> None:
    assert view_problems(modal(blocks=[]), kinds=("modal",)) == [
        "[ERROR] views must contain between 1 and 100 blocks [json-pointer:/view]"
    ]


def test_a_view_that_is_not_an_object_is_refused() -> None:
    assert view_problems(["modal"], kinds=("modal",)) == [
        "[ERROR] must provide an object [json-pointer:/view]"
    ]
