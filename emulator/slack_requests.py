"""The exact bodies Slack sends to an app's Request URL: events, slash commands, interactivity.

Each builder returns a `SlackRequest`: the raw body, its content type, the decoded data, and
`headers(signing_secret)` to sign it as Slack would.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from emulator.slack_signing import signature_headers

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "AppHomeTab",
    "SlackRequest",
    "app_home_opened",
    "block_actions",
    "blocks_with_ids",
    "full_view",
    "message_im_event",
    "new_event_id",
    "new_trigger_id",
    "new_ts",
    "new_view_hash",
    "new_view_id",
    "shared_file",
    "slash_command",
    "url_verification",
    "view_closed",
    "view_submission",
]

TEAM_ID = "T0EMULATOR"
TEAM_DOMAIN = "emulator"
APP_ID = "A0EMULATOR"
BOT_USER_ID = "U0EMUBOT"
BOT_ID = "B0EMUBOT"
# The deprecated verification token Slack still puts in every body; apps must not trust it.
VERIFICATION_TOKEN = "EmuVerificationToken0001"

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

_ID_ALPHABET = string.ascii_uppercase + string.digits
_TEXT_INPUTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}

StateValue = str | None | Mapping[str, str | None]
AppHomeTab = Literal["messages", "home"]


@dataclass(frozen=True, eq=False)
class SlackRequest:
    """One request as Slack would send it to the app's Request URL."""

    body: bytes
    content_type: str
    data: Mapping[str, Any]
    """The body decoded: the JSON object, the form fields, or an interactivity form's `payload`."""

    def headers(
        self,
        signing_secret: str,
        *,
        timestamp: int | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> dict[str, str]:
        """Slack's headers for this body, signed; `retry_num` marks a redelivery."""
        headers = {
            "Content-Type": self.content_type,
            "User-Agent": USER_AGENT,
            **signature_headers(self.body, signing_secret, timestamp=timestamp),
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return headers


# ---------------------------------------------------------------- identifiers


def _slack_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _digits(count: int) -> str:
    return str(10 ** (count - 1) + secrets.randbelow(9 * 10 ** (count - 1)))


def new_trigger_id() -> str:
    """A trigger id shaped like Slack's, e.g. `5522672900359.6335258913941.9a930ce2...`."""
    return f"{_digits(13)}.{_digits(13)}.{secrets.token_hex(16)}"


def new_event_id() -> str:
    """An Events API `event_id`, e.g. `Ev08MFMKH6AB`."""
    return _slack_id("Ev")


def new_view_id() -> str:
    """A view id, e.g. `VMHU10V25X`."""
    return _slack_id("V")


def new_ts(now: float | None = None) -> str:
    """A message timestamp string, e.g. `1700000000.123456`."""
    return f"{time.time() if now is None else now:.6f}"


def new_view_hash(now: float | None = None) -> str:
    """A view `hash`, e.g. `1569262015.55b5e41b`."""
    return f"{int(time.time() if now is None else now)}.{secrets.token_hex(4)}"


def _response_url(kind: str, team_id: str) -> str:
    return f"https://hooks.slack.com/{kind}/{team_id}/{_digits(12)}/{secrets.token_urlsafe(18)}"


# ---------------------------------------------------------------- encodings


def _json_request(data: dict[str, Any]) -> SlackRequest:
    body = json.dumps(data, separators=(",", ":")).encode()
    return SlackRequest(body=body, content_type=JSON_TYPE, data=data)


def _form_request(fields: dict[str, str]) -> SlackRequest:
    return SlackRequest(body=urlencode(fields).encode(), content_type=FORM_TYPE, data=fields)


def _interactivity_request(payload: dict[str, Any]) -> SlackRequest:
    encoded = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    return SlackRequest(body=encoded.encode(), content_type=FORM_TYPE, data=payload)


def _team(team_id: str, domain: str) -> dict[str, Any]:
    return {"id": team_id, "domain": domain}


def _user(user_id: str, user_name: str | None, team_id: str) -> dict[str, Any]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


# ---------------------------------------------------------------- Events API


def url_verification(
    challenge: str | None = None, *, token: str = VERIFICATION_TOKEN
) -> SlackRequest:
    """The handshake Slack sends when a Request URL is saved; the app must echo `challenge`."""
    return _json_request(
        {
            "token": token,
            "challenge": challenge or secrets.token_urlsafe(36),
            "type": "url_verification",
        }
    )


def _rich_text(text: str) -> dict[str, Any]:
    return {
        "type": "rich_text",
        "block_id": _slack_id("", 5).lower(),
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def _event_context(event_type: str, team_id: str, app_id: str, channel_id: str) -> str:
    context = {"et": event_type, "tid": team_id, "aid": app_id, "cid": channel_id}
    raw = json.dumps(context, separators=(",", ":")).encode()
    return "4-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def message_im_event(
    *,
    user_id: str,
    channel_id: str,
    text: str,
    team_id: str = TEAM_ID,
    event_id: str | None = None,
    ts: str | None = None,
    bot_id: str | None = None,
    subtype: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    files: Sequence[Mapping[str, Any]] | None = None,
    blocks: Sequence[Mapping[str, Any]] | None = None,
    api_app_id: str = APP_ID,
    authorized_user_id: str = BOT_USER_ID,
    event_time: int | None = None,
) -> SlackRequest:
    """A `message.im` delivery: someone wrote `text` in the app's DM `channel_id`.

    `bot_id`/`subtype` describe bot or special messages, which carry no `client_msg_id`;
    `authorized_user_id` is the installed bot user Slack lists in `authorizations`.
    `thread_ts` (with the thread's `parent_user_id`) makes it a reply in a thread.
    `files` (see `shared_file`) makes it a `file_share` message: files uploaded with
    `text` as their message, which Slack sends without `team`.
    """
    sent = ts or new_ts()
    typed = bot_id is None and subtype is None  # a person's own message, typed in a client
    event: dict[str, Any] = {"user": user_id, "type": "message", "ts": sent}
    if files:
        subtype = subtype or "file_share"
        event.update(files=[dict(f) for f in files], upload=True, display_as_bot=False)
    if subtype is not None:
        event["subtype"] = subtype
    if bot_id is not None:
        event["bot_id"] = bot_id
    if typed:
        event["client_msg_id"] = str(uuid.uuid4())
    event["text"] = text
    if not files:
        event["team"] = team_id
    if blocks is not None:
        event["blocks"] = [dict(block) for block in blocks]
    elif typed and (text or not files):  # a file shared without a message has no blocks
        event["blocks"] = [_rich_text(text)]
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        if parent_user_id is not None:
            event["parent_user_id"] = parent_user_id
    event.update({"channel": channel_id, "event_ts": sent, "channel_type": "im"})
    return _event_callback(
        event,
        team_id=team_id,
        api_app_id=api_app_id,
        event_id=event_id,
        event_time=event_time if event_time is not None else int(float(sent)),
        authorized_user_id=authorized_user_id,
    )


def app_home_opened(
    *,
    user_id: str,
    channel_id: str,
    tab: AppHomeTab = "messages",
    view: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
    event_id: str | None = None,
    event_ts: str | None = None,
    api_app_id: str = APP_ID,
    authorized_user_id: str = BOT_USER_ID,
    event_time: int | None = None,
) -> SlackRequest:
    """An `app_home_opened` delivery: `user_id` opened the app's `tab` ("messages" or "home").

    `channel_id` is the app's DM with the person. `view` is the Home tab as last published
    for them (views.publish); Slack includes it only for the Home tab, once one was published.
    In Slack's agent messaging experience (`features.agent_view`) this event, with tab
    "messages", is how an app learns that a person opened its DM.
    """
    if tab not in ("messages", "home"):
        raise ValueError(f"tab must be 'messages' or 'home', not {tab!r}")
    if view is not None and tab != "home":
        raise ValueError("only the Home tab carries a view")
    sent = event_ts or new_ts()
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": tab,
        "event_ts": sent,
    }
    if view is not None:
        event["view"] = full_view(view, team_id=team_id, app_id=api_app_id)
    return _event_callback(
        event,
        team_id=team_id,
        api_app_id=api_app_id,
        event_id=event_id,
        event_time=event_time if event_time is not None else int(float(sent)),
        authorized_user_id=authorized_user_id,
    )


def _event_callback(
    event: dict[str, Any],
    *,
    team_id: str,
    api_app_id: str,
    event_id: str | None,
    event_time: int,
    authorized_user_id: str,
) -> SlackRequest:
    """`event` in the Events API's `event_callback` envelope, as Slack wraps every event."""
    return _json_request(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "context_team_id": team_id,
            "context_enterprise_id": None,
            "api_app_id": api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or new_event_id(),
            "event_time": event_time,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": authorized_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": _event_context(event["type"], team_id, api_app_id, event["channel"]),
        }
    )


def shared_file(
    *,
    user_id: str,
    name: str = "invoice.pdf",
    mimetype: str = "application/pdf",
    filetype: str = "pdf",
    pretty_type: str = "PDF",
    size: int = 48_213,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
) -> dict[str, Any]:
    """A file object as a `file_share` message lists it (its contents stay at Slack)."""
    file_id = _slack_id("F")
    created = int(time.time())
    private = f"https://files.slack.com/files-pri/{team_id}-{file_id}"
    return {
        "id": file_id,
        "created": created,
        "timestamp": created,
        "name": name,
        "title": name,
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": pretty_type,
        "user": user_id,
        "user_team": team_id,
        "editable": False,
        "size": size,
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": False,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": f"{private}/{name}",
        "url_private_download": f"{private}/download/{name}",
        "permalink": f"https://{team_domain}.slack.com/files/{user_id}/{file_id}/{name}",
        "permalink_public": f"https://slack-files.com/{team_id}-{file_id}-{secrets.token_hex(5)}",
        "has_rich_preview": False,
        "file_access": "visible",
    }


# ---------------------------------------------------------------- slash commands


def slash_command(
    *,
    text: str,
    user_id: str,
    channel_id: str,
    trigger_id: str,
    command: str = "/pay",
    team_id: str = TEAM_ID,
    response_url: str | None = None,
    user_name: str | None = None,
    channel_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """A slash command invocation, form-encoded with Slack's fields in Slack's order."""
    if channel_name is None:
        channel_name = "directmessage" if channel_id.startswith("D") else channel_id.lower()
    return _form_request(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or _response_url("commands", team_id),
            "trigger_id": trigger_id,
        }
    )


# ---------------------------------------------------------------- views


def blocks_with_ids(blocks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Blocks as Slack reports them: every block and input element has an id."""
    shown: list[dict[str, Any]] = []
    for block in blocks:
        copy = dict(block)
        copy.setdefault("block_id", _slack_id("", 5).lower())
        element = copy.get("element")
        if copy.get("type") == "input" and isinstance(element, Mapping):
            copy["element"] = {**element, "action_id": element.get("action_id") or _slack_id("", 5)}
        shown.append(copy)
    return shown


def full_view(
    view: Mapping[str, Any],
    *,
    team_id: str | None = None,
    app_id: str | None = None,
    bot_id: str | None = None,
    view_id: str | None = None,
    view_hash: str | None = None,
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
    state: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`view` (as an app sends it to `views.open`) completed into the view object Slack reports.

    Fields already present in `view` (e.g. one the emulator returned) are kept unless a keyword
    overrides them; what is missing gets fresh ids and the emulator's defaults.
    """
    shown_id = view_id or view.get("id") or new_view_id()
    team = team_id or view.get("team_id") or TEAM_ID
    return {
        "id": shown_id,
        "team_id": team,
        "type": view.get("type", "modal"),
        "blocks": blocks_with_ids(view.get("blocks", [])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": dict(state or view.get("state") or {"values": {}}),
        "hash": view_hash or view.get("hash") or new_view_hash(),
        "title": view.get("title"),
        "clear_on_close": view.get("clear_on_close", False),
        "notify_on_close": view.get("notify_on_close", False),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous_view_id or view.get("previous_view_id"),
        "root_view_id": root_view_id or view.get("root_view_id") or shown_id,
        "app_id": app_id or view.get("app_id") or APP_ID,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": team,
        "bot_id": bot_id or view.get("bot_id") or BOT_ID,
    }


def _input_state(element_type: str, value: str | None) -> dict[str, Any]:
    if element_type not in _TEXT_INPUTS:
        raise ValueError(f"only text inputs are emulated, not {element_type!r}")
    return {"type": element_type, "value": value}


def _state_values(
    blocks: Sequence[Mapping[str, Any]], values: Mapping[str, StateValue]
) -> dict[str, dict[str, Any]]:
    """`view.state.values`: every input block, with what the user typed or `None`."""
    inputs = {
        block["block_id"]: block["element"] for block in blocks if block.get("type") == "input"
    }
    unknown = set(values) - set(inputs)
    if unknown:
        raise ValueError(f"the view has no input blocks {sorted(unknown)}")
    state: dict[str, dict[str, Any]] = {}
    for block_id, element in inputs.items():
        given = values.get(block_id)
        element_type = element.get("type", "plain_text_input")
        if isinstance(given, Mapping):
            state[block_id] = {
                action_id: _input_state(element_type, text) for action_id, text in given.items()
            }
        else:
            state[block_id] = {element["action_id"]: _input_state(element_type, given)}
    return state


def view_submission(
    *,
    view: Mapping[str, Any],
    values: Mapping[str, StateValue],
    user_id: str,
    trigger_id: str,
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """The user pressed Submit on `view` having typed `values`.

    `values` maps an input block's `block_id` to the text typed (its element's `action_id` is
    looked up in `view`), or to `{action_id: text}`; input blocks left out arrive as `None`.
    """
    shown = full_view(view, team_id=team_id, app_id=api_app_id)
    shown["state"] = {"values": _state_values(shown["blocks"], values)}
    return _interactivity_request(
        {
            "type": "view_submission",
            "team": _team(team_id, team_domain),
            "user": _user(user_id, user_name, team_id),
            "api_app_id": api_app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id,
            "view": shown,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
    )


def view_closed(
    *,
    view: Mapping[str, Any],
    user_id: str,
    team_id: str = TEAM_ID,
    is_cleared: bool = False,
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """The user closed `view` (sent only when the view asked for `notify_on_close`)."""
    return _interactivity_request(
        {
            "type": "view_closed",
            "team": _team(team_id, team_domain),
            "user": _user(user_id, user_name, team_id),
            "view": full_view(view, team_id=team_id, app_id=api_app_id),
            "api_app_id": api_app_id,
            "token": VERIFICATION_TOKEN,
            "is_cleared": is_cleared,
            "is_enterprise_install": False,
            "enterprise": None,
        }
    )


# ---------------------------------------------------------------- block actions


def block_actions(
    *,
    user_id: str,
    action_id: str,
    value: str,
    block_id: str,
    trigger_id: str,
    team_id: str = TEAM_ID,
    channel_id: str | None = None,
    message_ts: str | None = None,
    message: Mapping[str, Any] | None = None,
    is_ephemeral: bool = False,
    view: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    button_text: str = "Button",
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = APP_ID,
) -> SlackRequest:
    """A button press, in a message in `channel_id` or, when `view` is given, in that view.

    The view is a modal or the Home tab (`"type": "home"`, as views.publish reported it); a
    press in either arrives with `container: {"type": "view", "view_id": ...}` and the view,
    without channel, message or response_url. Slack omits `message` for presses in ephemeral
    messages; `message` defaults to a bot message at `message_ts`.
    """
    if view is None and channel_id is None:
        raise ValueError("a press in a message needs its channel_id")
    ts = message_ts or new_ts()
    shown = None if view is None else full_view(view, team_id=team_id, app_id=api_app_id)
    container: dict[str, Any] = (
        {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        if shown is None
        else {"type": "view", "view_id": shown["id"]}
    )
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": _team(team_id, team_domain),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if shown is not None:
        payload["view"] = shown
    elif channel_id is not None:
        name = "directmessage" if channel_id.startswith("D") else channel_id.lower()
        payload["channel"] = {"id": channel_id, "name": name}
        if not is_ephemeral:
            payload["message"] = dict(message) if message is not None else _bot_message(ts, team_id)
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url or _response_url("actions", team_id)
    payload["actions"] = [
        {
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": button_text, "emoji": True},
            "value": value,
            "type": "button",
            "action_ts": new_ts(),
        }
    ]
    return _interactivity_request(payload)


def _bot_message(ts: str, team_id: str) -> dict[str, Any]:
    return {
        "user": BOT_USER_ID,
        "type": "message",
        "ts": ts,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": "",
        "team": team_id,
        "blocks": [],
    }
