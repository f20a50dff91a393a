"""A person in the emulated workspace: the requests Slack sends when they act.

Each function builds the request Slack would send (signing happens when it is sent), with
the DM channel, trigger id and button values taken from the workspace as Slack takes them.
Used by the tests' harness and by the benchmarks, which each send it their own way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator import slack_requests
from emulator.slack_api import GENERAL_CHANNEL_ID, SlackWorkspace


def dm(
    workspace: SlackWorkspace, user_id: str, text: str, *, event_id: str | None = None
) -> slack_requests.SlackRequest:
    """`user_id` writes `text` in their DM with the app."""
    return slack_requests.message_im_event(
        user_id=user_id, channel_id=workspace.dm_channel(user_id), text=text, event_id=event_id
    )


def pay(
    workspace: SlackWorkspace,
    user_id: str,
    text: str = "",
    *,
    channel_id: str = GENERAL_CHANNEL_ID,
) -> slack_requests.SlackRequest:
    """`user_id` types `/pay <text>` in `channel_id`."""
    return slack_requests.slash_command(
        text=text,
        user_id=user_id,
        channel_id=channel_id,
        trigger_id=workspace.issue_trigger_id(user_id=user_id),
    )


def click(
    workspace: SlackWorkspace,
    user_id: str,
    message: Mapping[str, Any],
    action_id: str,
    trigger_id: str | None = None,
) -> slack_requests.SlackRequest:
    """`user_id` presses the button `action_id` in `message`, a message in their DM."""
    block_id, value = button(message, action_id)
    return slack_requests.block_actions(
        user_id=user_id,
        action_id=action_id,
        value=value,
        block_id=block_id,
        trigger_id=trigger_id or workspace.issue_trigger_id(user_id=user_id),
        channel_id=workspace.dm_channel(user_id),
        message=message,
        message_ts=message["ts"],
    )


def submit(
    user_id: str, view: Mapping[str, Any], values: Mapping[str, str]
) -> slack_requests.SlackRequest:
    """`user_id` submits the modal `view` with `values` typed into it."""
    return slack_requests.view_submission(
        view=view, values=values, user_id=user_id, trigger_id=slack_requests.new_trigger_id()
    )


def button(message: Mapping[str, Any], action_id: str) -> tuple[str, str]:
    """(block_id, value) of the button `action_id` in `message`; KeyError when absent."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return block.get("block_id", ""), element.get("value", "")
    raise KeyError(action_id)
