"""One function per Web API method the stand-in answers, and the table of them."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from emulator.slack_api.assistant import set_status, set_suggested_prompts
from emulator.slack_api.models import (
    MAX_VIEW_STACK,
    MESSAGE_MARKS,
    Args,
    SlackError,
    SlackWorkspace,
    string_arg,
)
from emulator.slack_api.params import flag_arg, message_content, modal_arg, view_arg
from emulator.slack_requests import full_view, new_view_hash, new_view_id
from emulator.slack_scopes import USERS_READ_EMAIL


def _auth_test(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def _chat_post_message(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = ws._resolve_channel(string_arg(args, "channel"))
    content = message_content(args)
    message = ws._bot_message(ws._next_ts(), content, string_arg(args, "thread_ts"))
    ws._store(channel_id, message, ephemeral_user=None)
    return {"channel": channel_id, "ts": message["ts"], "message": message}


def _chat_post_ephemeral(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = ws._resolve_channel(string_arg(args, "channel"))
    user_id = string_arg(args, "user")
    if user_id is None or not ws._is_member(user_id, channel_id):
        raise SlackError("user_not_in_channel")
    content = message_content(args)
    message = ws._bot_message(ws._next_ts(), content, string_arg(args, "thread_ts"))
    ws._store(channel_id, message, ephemeral_user=user_id)
    return {"message_ts": message["ts"]}


def _chat_update(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = string_arg(args, "channel")
    if channel_id is None or channel_id not in ws._channels:
        raise SlackError("channel_not_found")
    ts = string_arg(args, "ts")
    stored = next(
        (
            message
            for message in ws._messages.get(channel_id, [])
            if message["ts"] == ts and not message["is_ephemeral"]
        ),
        None,
    )
    if stored is None:
        raise SlackError("message_not_found")
    if stored.get("user") != ws.bot_user_id:
        raise SlackError("cant_update_message")
    content = message_content(args)
    stored["text"] = content.text
    for key, value in (("blocks", content.blocks), ("attachments", content.attachments)):
        if value:
            stored[key] = value
        else:
            stored.pop(key, None)
    stored["edited"] = {"user": ws.bot_user_id, "ts": ws._next_ts()}
    message = {key: value for key, value in stored.items() if key not in MESSAGE_MARKS}
    return {
        "channel": channel_id,
        "ts": stored["ts"],
        "text": content.text,
        "message": copy.deepcopy(message),
    }


def _conversations_open(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = string_arg(args, "channel")
    if channel_id is not None:
        if not ws._channels.get(channel_id, {}).get("is_im"):
            raise SlackError("channel_not_found")
        user_id = ws._channels[channel_id]["user"]
    else:
        listed = [
            user.strip() for user in (string_arg(args, "users") or "").split(",") if user.strip()
        ]
        if not listed:
            raise SlackError("users_list_not_supplied")
        if len(listed) > 1:
            raise SlackError("invalid_arguments", "[ERROR] multi-person DMs are not emulated")
        user_id = listed[0]
        if user_id not in ws._users or user_id == ws.bot_user_id:
            raise SlackError("user_not_found")
    already_open = user_id in ws._dms
    channel: dict[str, Any] = {"id": ws._dm(user_id)}
    if flag_arg(args, "return_im"):
        channel.update(
            {
                "created": 1700000000,
                "is_im": True,
                "is_org_shared": False,
                "user": user_id,
                "last_read": "0000000000.000000",
                "latest": None,
                "unread_count": 0,
                "unread_count_display": 0,
                "is_open": True,
                "priority": 0,
            }
        )
    opened: dict[str, Any] = {"no_op": True, "already_open": True} if already_open else {}
    return {**opened, "channel": channel}


def _users_info(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    user = ws._users.get(string_arg(args, "user") or "")
    if user is None:
        raise SlackError("user_not_found")
    shown = copy.deepcopy(user)
    if USERS_READ_EMAIL not in ws.scopes:  # users:read alone no longer shows the email
        shown.get("profile", {}).pop("email", None)
    return {"user": shown}


def _views_open(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    trigger = ws._usable_trigger(args)
    view = modal_arg(args)
    view_id = new_view_id()
    shown = ws._show_view(
        view, view_id=view_id, root_view_id=view_id, previous_view_id=None, user_id=trigger.user_id
    )
    trigger.used = True
    return {"view": shown}


def _views_push(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    trigger = ws._usable_trigger(args)
    view = modal_arg(args)
    view_id = new_view_id()
    parent = ws._views.get(trigger.view_id or "")
    if parent is None:
        root_view_id, previous_view_id = view_id, None
    else:
        root_view_id, previous_view_id = parent["root_view_id"], parent["id"]
        stacked = sum(1 for shown in ws._views.values() if shown["root_view_id"] == root_view_id)
        if stacked >= MAX_VIEW_STACK:
            raise SlackError("push_limit_reached")
    shown = ws._show_view(
        view,
        view_id=view_id,
        root_view_id=root_view_id,
        previous_view_id=previous_view_id,
        user_id=trigger.user_id,
    )
    trigger.used = True
    return {"view": shown}


def _views_update(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    view_id = string_arg(args, "view_id")
    external_id = string_arg(args, "external_id")
    if view_id is None and external_id is None:
        raise SlackError("invalid_arguments", "[ERROR] either view_id or external_id is required")
    if view_id is None:
        view_id = ws._external_ids.get(external_id or "")
    current = ws._views.get(view_id or "")
    if current is None:
        raise SlackError("not_found")
    view = modal_arg(args)
    expected_hash = string_arg(args, "hash")
    if expected_hash is not None and expected_hash != current["hash"]:
        raise SlackError("hash_conflict")
    if not view.get("external_id") and current["external_id"]:
        view = {**view, "external_id": current["external_id"]}
    shown = ws._show_view(
        view,
        view_id=current["id"],
        root_view_id=current["root_view_id"],
        previous_view_id=current["previous_view_id"],
        user_id=ws._view_users[current["id"]],
    )
    return {"view": shown}


def _views_publish(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    user_id = string_arg(args, "user_id")
    if user_id is None:
        raise SlackError("invalid_arguments", "[ERROR] missing required field: user_id")
    if user_id not in ws._users or user_id == ws.bot_user_id:
        raise SlackError("user_not_found")
    view = view_arg(args, kinds=("home",))
    current = ws._home_views.get(user_id)
    expected_hash = string_arg(args, "hash")
    if current is not None and expected_hash is not None and expected_hash != current["hash"]:
        raise SlackError("hash_conflict")
    view_id = current["id"] if current is not None else new_view_id()
    shown = full_view(
        view,
        team_id=ws.team_id,
        app_id=ws.app_id,
        bot_id=ws.bot_id,
        view_id=view_id,
        view_hash=new_view_hash(ws._wall_clock()),
        root_view_id=view_id,
        state={"values": {}},
    )
    ws._home_views[user_id] = shown
    return {"view": copy.deepcopy(shown)}


METHODS: dict[str, Callable[[SlackWorkspace, Args], dict[str, Any]]] = {
    "assistant.threads.setStatus": set_status,
    "assistant.threads.setSuggestedPrompts": set_suggested_prompts,
    "auth.test": _auth_test,
    "chat.postMessage": _chat_post_message,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.update": _chat_update,
    "conversations.open": _conversations_open,
    "users.info": _users_info,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
    "views.publish": _views_publish,
}
