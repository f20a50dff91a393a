"""Genuine Slack payload shapes: one `event` for every Events API event type, and the
interactivity payloads Slack documents, with each field of the type Slack sends.

Written from Slack's Events API reference (api.slack.com/events) and the sample payloads
the Slack SDKs test against; the values are placeholders, the shapes are Slack's.
"""

from __future__ import annotations

from typing import Any

TEAM, APP, USER, OTHER, CHANNEL, DM = (
    "T0CORPUS1",
    "A0CORPUS1",
    "U0CORPUS1",
    "U0CORPUS2",
    "C0CORPUS1",
    "D0CORPUS1",
)
TS = "1700000000.000100"

_USER_OBJECT: dict[str, Any] = {
    "id": USER,
    "team_id": TEAM,
    "name": "ada",
    "deleted": False,
    "real_name": "Ada Lovelace",
    "tz": "Europe/London",
    "tz_offset": 0,
    "profile": {"display_name": "ada", "status_text": "", "status_emoji": "", "fields": {}},
    "is_admin": False,
    "is_bot": False,
    "updated": 1700000000,
    "is_email_confirmed": True,
    "enterprise_user": {"id": USER, "enterprise_id": "E0CORPUS1", "teams": [TEAM]},
}
_CHANNEL_OBJECT: dict[str, Any] = {
    "id": CHANNEL,
    "name": "general",
    "created": 1700000000,
    "creator": USER,
    "is_channel": True,
    "is_shared": False,
}
_IM_OBJECT: dict[str, Any] = {"id": DM, "created": 1700000000, "is_im": True, "user": USER}
_FILE_OBJECT: dict[str, Any] = {"id": "F0CORPUS1", "name": "invoice.pdf", "user": USER}
_ITEM_MESSAGE: dict[str, Any] = {"type": "message", "channel": CHANNEL, "ts": TS}
_SUBTEAM: dict[str, Any] = {
    "id": "S0CORPUS1",
    "team_id": TEAM,
    "is_usergroup": True,
    "name": "Payments",
    "handle": "payments",
    "users": [USER],
    "user_count": 1,
    "prefs": {"channels": [], "groups": []},
}
_MESSAGE: dict[str, Any] = {"type": "message", "user": USER, "text": "hello", "ts": TS}
_INVITE: dict[str, Any] = {
    "id": "I0CORPUS1",
    "date_created": 1700000000,
    "inviting_team": {"id": "T0OTHER01", "name": "Other", "domain": "other"},
    "inviting_user": {"id": OTHER, "team_id": "T0OTHER01", "name": "grace"},
    "recipient_email": "ada@example.com",
}
_SHARED_CHANNEL: dict[str, Any] = {"id": CHANNEL, "is_private": False, "is_im": False, "name": "x"}


def _message(subtype: str | None = None, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": CHANNEL,
        "user": USER,
        "text": "hello",
        "ts": TS,
        "event_ts": TS,
        "channel_type": "channel",
    }
    if subtype:
        event["subtype"] = subtype
    event.update(fields)
    return {k: v for k, v in event.items() if v is not None}


EVENTS: dict[str, dict[str, Any]] = {
    "app_home_opened": {
        "user": USER,
        "channel": DM,
        "tab": "home",
        "view": {"id": "V0CORPUS1", "type": "home", "blocks": [], "team_id": TEAM},
        "event_ts": TS,
    },
    "app_mention": {
        "user": USER,
        "text": "<@U0BOT> pay",
        "ts": TS,
        "channel": CHANNEL,
        "event_ts": TS,
        "blocks": [{"type": "rich_text", "elements": []}],
    },
    "app_requested": {
        "app_request": {
            "id": "1234",
            "app": {"id": APP, "name": "paybot", "icons": {"image_32": ""}},
            "user": {"id": USER, "name": "ada", "email": "ada@example.com"},
            "team": {"id": TEAM, "name": "Corpus", "domain": "corpus"},
            "previous_resolution": {"status": "approved"},
            "message": "please",
            "date_created": 1700000000,
        }
    },
    "app_uninstalled": {},
    "app_deleted": {"app_id": APP, "app_name": "paybot", "app_owner_id": USER},
    "app_installed": {"app_id": APP, "app_name": "paybot", "app_owner_id": USER},
    "app_uninstalled_team": {"app_id": APP, "team_id": TEAM},
    "assistant_thread_started": {
        "assistant_thread": {
            "user_id": USER,
            "context": {"channel_id": CHANNEL, "team_id": TEAM},
            "channel_id": DM,
            "thread_ts": TS,
        },
        "event_ts": TS,
    },
    "assistant_thread_context_changed": {
        "assistant_thread": {"user_id": USER, "context": {}, "channel_id": DM, "thread_ts": TS},
        "event_ts": TS,
    },
    "call_rejected": {"call_id": "R0CORPUS1", "user_id": USER, "channel_id": DM},
    "channel_archive": {"channel": CHANNEL, "user": USER, "is_moved": 0},
    "channel_created": {"channel": _CHANNEL_OBJECT},
    "channel_deleted": {"channel": CHANNEL},
    "channel_history_changed": {"latest": TS, "ts": TS, "event_ts": TS},
    "channel_id_changed": {"old_channel_id": "C0OLD0001", "new_channel_id": CHANNEL},
    "channel_left": {"channel": CHANNEL, "actor_id": USER},
    "channel_rename": {"channel": {"id": CHANNEL, "name": "renamed", "created": 1700000000}},
    "channel_shared": {"connected_team_id": "T0OTHER01", "channel": CHANNEL, "event_ts": TS},
    "channel_unarchive": {"channel": CHANNEL, "user": USER},
    "channel_unshared": {
        "previously_connected_team_id": "T0OTHER01",
        "channel": CHANNEL,
        "is_ext_shared": False,
        "event_ts": TS,
    },
    "dnd_updated": {
        "user": USER,
        "dnd_status": {"dnd_enabled": True, "next_dnd_start_ts": 1, "next_dnd_end_ts": 2},
    },
    "dnd_updated_user": {"user": USER, "dnd_status": {"dnd_enabled": True}},
    "email_domain_changed": {"email_domain": "example.com", "event_ts": TS},
    "emoji_changed": {"subtype": "add", "name": "paybot", "value": "https://x/y.png"},
    "file_change": {"file_id": "F0CORPUS1", "file": {"id": "F0CORPUS1"}},
    "file_comment_deleted": {
        "comment": "Fc0CORPUS1",
        "file_id": "F0CORPUS1",
        "file": {"id": "F0CORPUS1"},
    },
    "file_created": {"file_id": "F0CORPUS1", "file": {"id": "F0CORPUS1"}, "user_id": USER},
    "file_deleted": {"file_id": "F0CORPUS1", "event_ts": TS},
    "file_public": {"file_id": "F0CORPUS1", "file": {"id": "F0CORPUS1"}, "user_id": USER},
    "file_shared": {
        "file_id": "F0CORPUS1",
        "user_id": USER,
        "file": {"id": "F0CORPUS1"},
        "channel_id": CHANNEL,
        "event_ts": TS,
    },
    "file_unshared": {"file_id": "F0CORPUS1", "file": {"id": "F0CORPUS1"}, "channel_id": CHANNEL},
    "function_executed": {
        "function": {
            "id": "Fn0CORPUS1",
            "callback_id": "pay",
            "title": "Pay",
            "input_parameters": [],
        },
        "inputs": {"amount": "45"},
        "function_execution_id": "Fx0CORPUS1",
        "workflow_execution_id": "Wx0CORPUS1",
        "event_ts": TS,
        "bot_access_token": "xwfp-placeholder",
    },
    "grid_migration_finished": {"enterprise_id": "E0CORPUS1"},
    "grid_migration_started": {"enterprise_id": "E0CORPUS1"},
    "group_archive": {"channel": "G0CORPUS1"},
    "group_close": {"user": USER, "channel": "G0CORPUS1"},
    "group_deleted": {"channel": "G0CORPUS1"},
    "group_history_changed": {"latest": TS, "ts": TS, "event_ts": TS},
    "group_left": {"channel": "G0CORPUS1", "actor_id": USER},
    "group_open": {"user": USER, "channel": "G0CORPUS1"},
    "group_rename": {"channel": {"id": "G0CORPUS1", "name": "renamed", "created": 1700000000}},
    "group_unarchive": {"channel": "G0CORPUS1", "actor_id": USER},
    "im_close": {"user": USER, "channel": DM},
    "im_created": {"user": USER, "channel": _IM_OBJECT},
    "im_history_changed": {"latest": TS, "ts": TS, "event_ts": TS},
    "im_open": {"user": USER, "channel": DM},
    "invite_requested": {
        "invite_request": {
            "id": "12345",
            "email": "new@example.com",
            "date_created": 1700000000,
            "requester_ids": [USER],
            "channel_ids": [CHANNEL],
            "invite_type": "full_member",
            "real_name": "New Person",
            "date_expire": 1800000000,
            "request_reason": "joining",
            "team": {"id": TEAM, "name": "Corpus", "domain": "corpus"},
        }
    },
    "link_shared": {
        "channel": CHANNEL,
        "user": USER,
        "message_ts": TS,
        "unfurl_id": "C0CORPUS1.1700000000.000100",
        "source": "conversations_history",
        "links": [{"domain": "example.com", "url": "https://example.com/invoice/1"}],
    },
    "member_joined_channel": {
        "user": USER,
        "channel": CHANNEL,
        "channel_type": "C",
        "team": TEAM,
        "inviter": OTHER,
    },
    "member_left_channel": {"user": USER, "channel": CHANNEL, "channel_type": "C", "team": TEAM},
    "message_metadata_deleted": {
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "event_ts": TS,
        "previous_metadata": {"event_type": "invoice", "event_payload": {"id": "INV-1"}},
        "app_id": APP,
        "bot_id": "B0CORPUS1",
        "user_id": USER,
        "message_ts": TS,
        "deleted_ts": TS,
    },
    "message_metadata_posted": {
        "app_id": APP,
        "bot_id": "B0CORPUS1",
        "user_id": USER,
        "team_id": TEAM,
        "channel_id": CHANNEL,
        "metadata": {"event_type": "invoice", "event_payload": {"id": "INV-1"}},
        "message_ts": TS,
        "event_ts": TS,
    },
    "message_metadata_updated": {
        "channel_id": CHANNEL,
        "event_ts": TS,
        "previous_metadata": {"event_type": "invoice", "event_payload": {}},
        "app_id": APP,
        "bot_id": "B0CORPUS1",
        "user_id": USER,
        "team_id": TEAM,
        "message_ts": TS,
        "metadata": {"event_type": "invoice", "event_payload": {"id": "INV-1"}},
    },
    "pin_added": {
        "user": USER,
        "channel_id": CHANNEL,
        "item": {"type": "message", "channel": CHANNEL, "message": _MESSAGE, "created": 1},
        "event_ts": TS,
    },
    "pin_removed": {
        "user": USER,
        "channel_id": CHANNEL,
        "item": {"type": "message", "channel": CHANNEL, "message": _MESSAGE},
        "has_pins": False,
        "event_ts": TS,
    },
    "reaction_added": {
        "user": USER,
        "reaction": "thumbsup",
        "item_user": OTHER,
        "item": _ITEM_MESSAGE,
        "event_ts": TS,
    },
    "reaction_removed": {
        "user": USER,
        "reaction": "thumbsup",
        "item_user": OTHER,
        "item": _ITEM_MESSAGE,
        "event_ts": TS,
    },
    "resources_added": {
        "resources": [
            {
                "resource": {"type": "im", "grant": {"type": "specific", "resource_id": DM}},
                "scopes": ["im:read"],
            }
        ]
    },
    "resources_removed": {
        "resources": [
            {
                "resource": {"type": "im", "grant": {"type": "specific", "resource_id": DM}},
                "scopes": ["im:read"],
            }
        ]
    },
    "scope_denied": {"scopes": ["chat:write"], "trigger_id": "1.2.3"},
    "scope_granted": {"scopes": ["chat:write"], "trigger_id": "1.2.3"},
    "shared_channel_invite_accepted": {
        "approval_required": False,
        "invite": _INVITE,
        "channel": _SHARED_CHANNEL,
        "teams_in_channel": [{"id": TEAM, "name": "Corpus"}],
        "accepting_user": {"id": USER, "team_id": TEAM, "name": "ada"},
        "event_ts": TS,
    },
    "shared_channel_invite_approved": {
        "invite": _INVITE,
        "channel": _SHARED_CHANNEL,
        "approving_team_id": TEAM,
        "teams_in_channel": [{"id": TEAM}],
        "approving_user": {"id": USER, "team_id": TEAM},
        "event_ts": TS,
    },
    "shared_channel_invite_declined": {
        "invite": _INVITE,
        "channel": _SHARED_CHANNEL,
        "declining_team_id": TEAM,
        "teams_in_channel": [{"id": TEAM}],
        "declining_user": {"id": USER, "team_id": TEAM},
        "event_ts": TS,
    },
    "shared_channel_invite_received": {
        "invite": _INVITE,
        "channel": _SHARED_CHANNEL,
        "event_ts": TS,
    },
    "shared_channel_invite_requested": {
        "actor": {"id": USER, "name": "ada", "is_bot": False, "team_id": TEAM},
        "channel_id": CHANNEL,
        "event_type": "slack#/events/shared_channel_invite_requested",
        "channel_name": "general",
        "channel_type": "public",
        "target_users": [{"email": "grace@example.com", "invite_id": "I0CORPUS1"}],
        "teams_in_channel": [{"id": TEAM, "name": "Corpus"}],
        "is_external_limited": True,
        "channel_date_created": 1700000000,
        "channel_message_latest_counted_timestamp": 1700000000,
    },
    "star_added": {
        "user": USER,
        "item": {"type": "message", "channel": CHANNEL, "message": _MESSAGE},
    },
    "star_removed": {"user": USER, "item": {"type": "file", "file": _FILE_OBJECT}},
    "subteam_created": {"subteam": _SUBTEAM},
    "subteam_members_changed": {
        "subteam_id": "S0CORPUS1",
        "team_id": TEAM,
        "date_previous_update": 1700000000,
        "date_update": 1700000100,
        "added_users": [USER],
        "added_users_count": "1",
        "removed_users": [],
        "removed_users_count": "0",
    },
    "subteam_self_added": {"subteam_id": "S0CORPUS1"},
    "subteam_self_removed": {"subteam_id": "S0CORPUS1"},
    "subteam_updated": {"subteam": _SUBTEAM},
    "team_access_granted": {"team_ids": [TEAM, "T0OTHER01"]},
    "team_access_revoked": {"team_ids": ["T0OTHER01"]},
    "team_domain_change": {"url": "https://corpus.slack.com", "domain": "corpus", "team_id": TEAM},
    "team_join": {"user": _USER_OBJECT},
    "team_rename": {"name": "Corpus Ltd", "team_id": TEAM},
    "tokens_revoked": {"tokens": {"oauth": [USER], "bot": ["B0CORPUS1"]}},
    "user_change": {"user": _USER_OBJECT, "cache_ts": 1700000000, "event_ts": TS},
    "user_huddle_changed": {"user": _USER_OBJECT, "cache_ts": 1700000000, "event_ts": TS},
    "user_profile_changed": {"user": _USER_OBJECT, "cache_ts": 1700000000, "event_ts": TS},
    "user_resource_denied": {"user": USER, "scopes": ["reminders:write"], "trigger_id": "1.2.3"},
    "user_resource_granted": {"user": USER, "scopes": ["reminders:write"], "trigger_id": "1.2.3"},
    "user_resource_removed": {"user": USER, "trigger_id": "1.2.3"},
    "user_status_changed": {"user": _USER_OBJECT, "cache_ts": 1700000000, "event_ts": TS},
    "workflow_deleted": {
        "workflow_id": "Wf0CORPUS1",
        "workflow_draft_configuration": {"version_id": "1", "app_steps": []},
        "event_ts": TS,
    },
    "workflow_published": {
        "workflow_id": "Wf0CORPUS1",
        "workflow_published_configuration": {"version_id": "1", "app_steps": []},
        "event_ts": TS,
    },
    "workflow_step_deleted": {
        "workflow_id": "Wf0CORPUS1",
        "workflow_draft_configuration": {"version_id": "1", "app_steps": []},
        "workflow_published_configuration": {"version_id": "1", "app_steps": []},
        "event_ts": TS,
    },
    "workflow_step_execute": {
        "callback_id": "pay_step",
        "workflow_step": {
            "workflow_step_execute_id": "1.2.3",
            "workflow_id": "Wf0CORPUS1",
            "workflow_instance_id": "1",
            "step_id": "s1",
            "inputs": {"amount": {"value": "45"}},
            "outputs": [],
        },
        "event_ts": TS,
    },
    "workflow_unpublished": {
        "workflow_id": "Wf0CORPUS1",
        "workflow_draft_configuration": {"version_id": "1", "app_steps": []},
        "event_ts": TS,
    },
}
"""Every Events API event type other than `message`, by type: the `event` object's fields."""

MESSAGES: dict[str, dict[str, Any]] = {
    "message": _message(),
    "message.im": _message(channel=DM, channel_type="im"),
    "message.mpim": _message(channel="G0CORPUS2", channel_type="mpim"),
    "message.groups": _message(channel="G0CORPUS1", channel_type="group"),
    "message.app_home": _message(channel=DM, channel_type="app_home"),
    "bot_message": _message(
        "bot_message", user=None, bot_id="B0CORPUS1", username="otherbot", icons={}
    ),
    "channel_archive": _message("channel_archive", text="<@U0CORPUS1> archived the channel"),
    "channel_join": _message("channel_join", text="<@U0CORPUS1> has joined", inviter=OTHER),
    "channel_leave": _message("channel_leave", text="<@U0CORPUS1> has left"),
    "channel_name": _message("channel_name", old_name="old", name="new"),
    "channel_posting_permissions": _message("channel_posting_permissions"),
    "channel_purpose": _message("channel_purpose", purpose="Payments"),
    "channel_topic": _message("channel_topic", topic="Invoices"),
    "channel_unarchive": _message("channel_unarchive"),
    "ekm_access_denied": _message("ekm_access_denied", user="U00", text="Your admin..."),
    "file_share": _message(
        "file_share", channel=DM, channel_type="im", files=[_FILE_OBJECT], upload=False
    ),
    "group_topic": _message("group_topic", channel="G0CORPUS1", channel_type="group", topic="x"),
    "me_message": _message("me_message", text="is paying"),
    "message_changed": {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": DM,
        "channel_type": "im",
        "ts": TS,
        "event_ts": TS,
        "message": {**_MESSAGE, "edited": {"user": USER, "ts": TS}},
        "previous_message": _MESSAGE,
    },
    "message_deleted": {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": DM,
        "channel_type": "im",
        "ts": TS,
        "deleted_ts": TS,
        "event_ts": TS,
        "previous_message": _MESSAGE,
    },
    "message_replied": {
        "type": "message",
        "subtype": "message_replied",
        "hidden": True,
        "channel": CHANNEL,
        "ts": TS,
        "event_ts": TS,
        "message": {
            **_MESSAGE,
            "thread_ts": TS,
            "reply_count": 1,
            "replies": [{"user": OTHER, "ts": TS}],
        },
    },
    "thread_broadcast": _message(
        "thread_broadcast", thread_ts=TS, root={**_MESSAGE, "thread_ts": TS}
    ),
    "thread reply": _message(channel=DM, channel_type="im", thread_ts=TS, parent_user_id=USER),
}
"""Message events, by subtype (or by the channel kind their subscription names)."""


def event_callback(event_type: str, event: dict[str, Any]) -> dict[str, Any]:
    """`event` wrapped as the Events API delivers it."""
    return {
        "token": "placeholder",
        "team_id": TEAM,
        "enterprise_id": None,
        "api_app_id": APP,
        "event": {"type": event_type, **event} if "type" not in event else event,
        "type": "event_callback",
        "event_id": "Ev0CORPUS1",
        "event_time": 1700000000,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": "U0BOT0001",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-placeholder",
    }


OUTER: dict[str, dict[str, Any]] = {
    "app_rate_limited": {
        "token": "placeholder",
        "type": "app_rate_limited",
        "team_id": TEAM,
        "minute_rate_limited": 1700000000,
        "api_app_id": APP,
    },
    "url_verification": {"token": "placeholder", "challenge": "abc", "type": "url_verification"},
}
"""Deliveries that are not `event_callback`s."""

_PAYLOAD_USER = {"id": USER, "username": "ada", "name": "ada", "team_id": TEAM}
_PAYLOAD_TEAM = {"id": TEAM, "domain": "corpus"}
_VIEW_COMMON: dict[str, Any] = {
    "id": "V0CORPUS1",
    "team_id": TEAM,
    "blocks": [],
    "private_metadata": "",
    "callback_id": "other_app_form",
    "state": {"values": {}},
    "hash": "1.abc",
    "root_view_id": "V0CORPUS1",
    "app_id": APP,
    "bot_id": "B0CORPUS1",
}

PAYLOADS: dict[str, dict[str, Any]] = {
    "view_submission of a workflow_step view": {
        "type": "view_submission",
        "team": _PAYLOAD_TEAM,
        "user": _PAYLOAD_USER,
        "api_app_id": APP,
        "token": "placeholder",
        "trigger_id": "1.2.3",
        "view": {**_VIEW_COMMON, "type": "workflow_step", "submit_disabled": False},
        "response_urls": [],
        "workflow_step": {
            "workflow_step_edit_id": "1.2.3",
            "workflow_id": "Wf0CORPUS1",
            "step_id": "s1",
        },
    },
    "view_submission of another modal": {
        "type": "view_submission",
        "team": _PAYLOAD_TEAM,
        "user": _PAYLOAD_USER,
        "api_app_id": APP,
        "trigger_id": "1.2.3",
        "view": {**_VIEW_COMMON, "type": "modal", "title": {"type": "plain_text", "text": "x"}},
        "response_urls": [
            {
                "block_id": "b",
                "action_id": "a",
                "channel_id": CHANNEL,
                "response_url": "https://hooks.slack.com/x",
            }
        ],
        "is_enterprise_install": False,
        "enterprise": None,
    },
    "view_closed": {
        "type": "view_closed",
        "team": _PAYLOAD_TEAM,
        "user": _PAYLOAD_USER,
        "api_app_id": APP,
        "view": {**_VIEW_COMMON, "type": "modal"},
        "is_cleared": False,
    },
    "block_actions in the app home": {
        "type": "block_actions",
        "team": _PAYLOAD_TEAM,
        "user": _PAYLOAD_USER,
        "api_app_id": APP,
        "container": {"type": "view", "view_id": "V0CORPUS1"},
        "trigger_id": "1.2.3",
        "view": {**_VIEW_COMMON, "type": "home"},
        "actions": [
            {"type": "button", "action_id": "other", "block_id": "b", "action_ts": TS, "value": "1"}
        ],
    },
    "block_suggestion": {
        "type": "block_suggestion",
        "user": _PAYLOAD_USER,
        "team": _PAYLOAD_TEAM,
        "api_app_id": APP,
        "action_id": "pick",
        "block_id": "b",
        "value": "inv",
        "container": {"type": "view", "view_id": "V0CORPUS1"},
        "view": {**_VIEW_COMMON, "type": "modal"},
    },
    "global shortcut": {
        "type": "shortcut",
        "token": "placeholder",
        "action_ts": TS,
        "team": _PAYLOAD_TEAM,
        "user": {"id": USER, "username": "ada", "team_id": TEAM},
        "callback_id": "start_payment",
        "trigger_id": "1.2.3",
    },
    "message shortcut": {
        "type": "message_action",
        "token": "placeholder",
        "action_ts": TS,
        "team": _PAYLOAD_TEAM,
        "user": {"id": USER, "name": "ada"},
        "channel": {"id": CHANNEL, "name": "general"},
        "callback_id": "pay_this",
        "trigger_id": "1.2.3",
        "message_ts": TS,
        "message": _MESSAGE,
        "response_url": "https://hooks.slack.com/app/x",
    },
    "workflow_step_edit": {
        "type": "workflow_step_edit",
        "token": "placeholder",
        "action_ts": TS,
        "team": _PAYLOAD_TEAM,
        "user": {"id": USER, "username": "ada", "team_id": TEAM},
        "callback_id": "pay_step",
        "trigger_id": "1.2.3",
        "workflow_step": {
            "workflow_id": "Wf0CORPUS1",
            "step_id": "s1",
            "inputs": {},
            "outputs": [],
        },
    },
    "interactive_message": {
        "type": "interactive_message",
        "actions": [{"name": "pay", "type": "button", "value": "yes"}],
        "callback_id": "legacy",
        "team": _PAYLOAD_TEAM,
        "channel": {"id": CHANNEL, "name": "general"},
        "user": {"id": USER, "name": "ada"},
        "action_ts": TS,
        "message_ts": TS,
        "attachment_id": "1",
        "token": "placeholder",
        "original_message": {"text": "Pay?", "attachments": [{"id": 1, "actions": []}]},
        "response_url": "https://hooks.slack.com/actions/x",
        "trigger_id": "1.2.3",
    },
    "dialog_submission": {
        "type": "dialog_submission",
        "token": "placeholder",
        "action_ts": TS,
        "team": _PAYLOAD_TEAM,
        "user": {"id": USER, "name": "ada"},
        "channel": {"id": CHANNEL, "name": "general"},
        "submission": {"reference": "INV-1"},
        "callback_id": "legacy_dialog",
        "response_url": "https://hooks.slack.com/app/x",
        "state": "",
    },
}
"""Interactivity payloads paybot does not handle, each as Slack sends it."""
