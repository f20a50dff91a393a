"""A Slack Web API stand-in: the methods paybot calls, with Slack's answers, errors and limits.

`SlackWorkspace` holds the state (thread-safe) and answers calls; `create_app` serves it at
`/api/<method>`, so `slack_sdk.WebClient(base_url=f"{url}/api/")` talks to it unchanged, and
adds control endpoints under `/_emulator/`. Run alone: `python -m emulator.slack_api --port 3001`.

The token carries the bot scopes manifest.yml declares (or those given to `SlackWorkspace`):
a method needing another answers `missing_scope` (`emulator.slack_scopes`), and every answer to
the token names them in `x-oauth-scopes`. Blocks and views are checked with slack_sdk's Block
Kit models (`emulator.slack_blocks`): invalid blocks answer `invalid_blocks`, an invalid view
`invalid_arguments`, each with Slack's `response_metadata.messages`.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from aiohttp import web

from emulator.control import Faults, RequestLog, add_control_routes
from emulator.slack_blocks import block_problems, view_problems
from emulator.slack_requests import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    blocks_with_ids,
    full_view,
    new_trigger_id,
    new_view_hash,
    new_view_id,
)
from emulator.slack_scopes import (
    USERS_READ_EMAIL,
    accepted_scopes,
    manifest_bot_scopes,
    missing_scope,
)

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER_ID",
    "GENERAL_CHANNEL_ID",
    "ApiAnswer",
    "ApiCall",
    "SlackWorkspace",
    "create_app",
    "main",
    "user_object",
]


DEFAULT_TOKEN = "xoxb-emulator-token"
DEFAULT_USER_ID = "U0EMUPAYER"
GENERAL_CHANNEL_ID = "C0GENERAL"
TRIGGER_LIFETIME_SECONDS = 3.0
MAX_TEXT_LENGTH = 40_000
MAX_VIEW_BYTES = 250_000
MAX_VIEW_STACK = 3
JSON_ARGS = ("view", "blocks", "attachments", "metadata")
SCOPES_HEADER = "x-oauth-scopes"
ACCEPTED_SCOPES_HEADER = "x-accepted-oauth-scopes"
_MESSAGE_MARKS = ("channel", "is_ephemeral", "ephemeral_user")

Args = dict[str, Any]


class SlackError(Exception):
    """Slack's `{"ok": false, "error": ...}`; `messages` go in `response_metadata`."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages


@dataclass(frozen=True)
class ApiAnswer:
    """What the Web API answers: HTTP status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiCall:
    """One recorded Web API call (the token is never recorded)."""

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    status: int
    duration: float
    response: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The call as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class _Fault:
    method: str  # "*": any
    error: str
    retry_after: int
    status: int


@dataclass
class _Trigger:
    issued_at: float
    user_id: str | None
    view_id: str | None
    used: bool = False


def user_object(
    user_id: str,
    name: str,
    *,
    real_name: str | None = None,
    email: str | None = None,
    team_id: str = TEAM_ID,
    is_bot: bool = False,
    bot_id: str | None = None,
) -> dict[str, Any]:
    """A `users.info` user object."""
    real = real_name or name
    profile: dict[str, Any] = {
        "real_name": real,
        "display_name": name,
        "real_name_normalized": real,
        "display_name_normalized": name,
        "team": team_id,
    }
    if email is not None:
        profile["email"] = email
    if bot_id is not None:
        profile.update({"bot_id": bot_id, "api_app_id": APP_ID, "always_active": True})
    return {
        "id": user_id,
        "team_id": team_id,
        "name": name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": real,
        "tz": "Europe/London",
        "tz_label": "Greenwich Mean Time",
        "tz_offset": 0,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": 1700000000,
        "is_email_confirmed": not is_bot,
    }


class SlackWorkspace:
    """One emulated workspace with the app installed: its users, channels, messages and views.

    Every method is safe to call from any thread; `call` is what the HTTP layer invokes.
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        team_id: str = TEAM_ID,
        team_name: str = "Emulator",
        team_domain: str = TEAM_DOMAIN,
        app_id: str = APP_ID,
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        bot_name: str = "paybot",
        users: Iterable[Mapping[str, Any]] | None = None,
        channels: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        trigger_lifetime: float = TRIGGER_LIFETIME_SECONDS,
        scopes: Iterable[str] | None = None,
    ) -> None:
        """`users` are `users.info` objects (default: one payer); `channels` maps id to name.

        `clock` times trigger ids; `wall_clock` makes message `ts` values. `scopes` are the
        token's bot scopes (default: manifest.yml's `oauth_config.scopes.bot`).
        """
        self.token = token
        self.scopes: tuple[str, ...] = (
            tuple(scopes) if scopes is not None else manifest_bot_scopes()
        )
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self._clock = clock
        self._wall_clock = wall_clock
        self._trigger_lifetime = trigger_lifetime
        self._lock = threading.RLock()
        if users is None:
            users = [
                user_object(
                    DEFAULT_USER_ID,
                    "pat",
                    real_name="Pat Payer",
                    email="pat@example.com",
                    team_id=team_id,
                )
            ]
        self._users = {user["id"]: copy.deepcopy(dict(user)) for user in users}
        self._users[bot_user_id] = user_object(
            bot_user_id, bot_name, team_id=team_id, is_bot=True, bot_id=bot_id
        )
        self._configured_channels = dict(channels or {GENERAL_CHANNEL_ID: "general"})
        self._calls: RequestLog[ApiCall] = RequestLog()
        self._faults: Faults[_Fault] = Faults()
        self._reset_state()

    def _reset_state(self) -> None:
        self._channels: dict[str, dict[str, Any]] = {
            channel_id: {"id": channel_id, "name": name, "is_im": False}
            for channel_id, name in self._configured_channels.items()
        }
        self._dms: dict[str, str] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._view_users: dict[str, str | None] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._external_ids: dict[str, str] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._last_ts_micros = 0

    # ------------------------------------------------------------ control surface

    def reset(self) -> None:
        """Forget messages, views, DMs, triggers, faults and calls; keep users and subscribers."""
        with self._lock:
            self._reset_state()
        self._calls.clear()
        self._faults.clear()

    @property
    def calls(self) -> list[ApiCall]:
        """Every call so far, oldest first."""
        return self._calls.entries

    def calls_to(self, method: str) -> list[ApiCall]:
        """The calls made to one method."""
        return [call for call in self.calls if call.method == method]

    def subscribe(self, callback: Callable[[ApiCall], None]) -> Callable[[], None]:
        """Call `callback` after each recorded call, on the server's thread; returns unsubscribe."""
        return self._calls.subscribe(callback)

    def inject(
        self,
        method: str,
        *,
        error: str = "ratelimited",
        count: int | None = 1,
        retry_after: int = 1,
        status: int | None = None,
    ) -> None:
        """Make the next `count` calls to `method` (`"*"`: any) fail with `error` (None: always).

        `ratelimited` answers HTTP 429 with `Retry-After: retry_after`; others answer 200 unless
        `status` says otherwise.
        """
        answer_status = status if status is not None else (429 if error == "ratelimited" else 200)
        fault = _Fault(method=method, error=error, retry_after=retry_after, status=answer_status)
        self._faults.add(fault, count)

    def issue_trigger_id(self, *, user_id: str | None = None, view_id: str | None = None) -> str:
        """A trigger id as an interaction by `user_id` (in modal `view_id`) would carry one.

        It opens one view, within `trigger_lifetime` seconds of now on `clock`.
        """
        trigger_id = new_trigger_id()
        with self._lock:
            self._triggers[trigger_id] = _Trigger(self._clock(), user_id, view_id)
        return trigger_id

    def add_user(self, user: Mapping[str, Any]) -> None:
        """Add or replace a `users.info` user object."""
        with self._lock:
            self._users[user["id"]] = copy.deepcopy(dict(user))

    def dm_channel(self, user_id: str) -> str:
        """The app's DM channel with `user_id`, opened if need be (as `conversations.open`)."""
        with self._lock:
            if user_id not in self._users:
                raise KeyError(user_id)
            return self._dm(user_id)

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first, with `is_ephemeral` and `ephemeral_user` marks."""
        with self._lock:
            return copy.deepcopy(self._messages.get(channel_id, []))

    def view(self, view_id: str) -> dict[str, Any] | None:
        """A view as Slack last reported it, or None."""
        with self._lock:
            shown = self._views.get(view_id)
            return copy.deepcopy(shown) if shown is not None else None

    def views(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Views opened so far (for one user when given), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(shown)
                for view_id, shown in self._views.items()
                if user_id is None or self._view_users[view_id] == user_id
            ]

    # ------------------------------------------------------------ the Web API

    def call(
        self,
        method: str,
        args: Mapping[str, Any],
        *,
        token: str | None,
        body_error: str | None = None,
    ) -> ApiAnswer:
        """Answer one Web API call and record it; `body_error` is a transport-level refusal."""
        started = time.perf_counter()
        answer = self._answer(method, dict(args), token, body_error)
        recorded = ApiCall(
            method=method,
            args=copy.deepcopy(dict(args)),
            ok=answer.body.get("ok") is True,
            error=answer.body.get("error"),
            status=answer.status,
            duration=time.perf_counter() - started,
            response=copy.deepcopy(answer.body),
        )
        self._calls.add(recorded)
        return answer

    def _answer(
        self, method: str, args: Args, token: str | None, body_error: str | None
    ) -> ApiAnswer:
        handler = _METHODS.get(method)
        if handler is None:
            return ApiAnswer(404, {"ok": False, "error": "unknown_method", "req_method": method})
        if body_error is not None:
            return _refusal(SlackError(body_error))
        if not token:
            return _refusal(SlackError("not_authed"))
        if not secrets.compare_digest(token, self.token):
            return _refusal(SlackError("invalid_auth"))
        granted = self.scopes
        headers = {SCOPES_HEADER: ",".join(granted)}
        if accepted_scopes(method):
            headers[ACCEPTED_SCOPES_HEADER] = accepted_scopes(method)
        with self._lock:
            fault = self._take_fault(method)
            if fault is not None:
                if fault.status == 429:
                    headers["Retry-After"] = str(fault.retry_after)
                return ApiAnswer(fault.status, {"ok": False, "error": fault.error}, headers)
            needed = missing_scope(method, granted)
            if needed is not None:
                body = {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": needed,
                    "provided": ",".join(granted),
                }
                return ApiAnswer(200, body, headers)
            try:
                return ApiAnswer(200, {"ok": True, **handler(self, args)}, headers)
            except SlackError as refused:
                return replace(_refusal(refused), headers=headers)

    def _take_fault(self, method: str) -> _Fault | None:
        """A fault for this method first, then one for any method."""
        found = self._faults.take(lambda fault: fault.method == method)
        return found or self._faults.take(lambda fault: fault.method == "*")

    # ------------------------------------------------------------ state helpers (lock held)

    def _next_ts(self) -> str:
        micros = max(int(self._wall_clock() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _dm(self, user_id: str) -> str:
        channel_id = self._dms.get(user_id)
        if channel_id is None:
            channel_id = "D" + "".join(
                secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(10)
            )
            self._dms[user_id] = channel_id
            self._channels[channel_id] = {"id": channel_id, "is_im": True, "user": user_id}
        return channel_id

    def _resolve_channel(self, channel: str | None) -> str:
        if channel is None:
            raise SlackError("channel_not_found")
        if channel in self._channels:
            return channel
        if channel in self._users and channel != self.bot_user_id:
            return self._dm(channel)  # a user id names the app's DM with that user
        for channel_id, record in self._channels.items():
            if record.get("name") == channel.lstrip("#"):
                return channel_id
        raise SlackError("channel_not_found")

    def _is_member(self, user_id: str, channel_id: str) -> bool:
        record = self._channels[channel_id]
        return user_id in self._users and (not record["is_im"] or record["user"] == user_id)

    def _bot_message(self, ts: str, content: _Content, thread_ts: str | None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "user": self.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": content.text,
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "icons": {},
                "deleted": False,
                "updated": 1700000000,
                "team_id": self.team_id,
            },
        }
        if content.blocks:
            message["blocks"] = content.blocks
        if content.attachments:
            message["attachments"] = content.attachments
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        return message

    def _store(self, channel_id: str, message: dict[str, Any], ephemeral_user: str | None) -> None:
        record = {
            **copy.deepcopy(message),
            "channel": channel_id,
            "is_ephemeral": ephemeral_user is not None,
            "ephemeral_user": ephemeral_user,
        }
        self._messages.setdefault(channel_id, []).append(record)

    def _usable_trigger(self, args: Args) -> _Trigger:
        trigger_id = _string(args, "trigger_id") or _string(args, "interactivity_pointer")
        if trigger_id is None:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: trigger_id")
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self._clock() - trigger.issued_at > self._trigger_lifetime:
            raise SlackError("expired_trigger_id")
        return trigger

    def _show_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str,
        root_view_id: str,
        previous_view_id: str | None,
        user_id: str | None,
    ) -> dict[str, Any]:
        external_id = view.get("external_id") or ""
        if external_id and self._external_ids.get(external_id, view_id) != view_id:
            raise SlackError("duplicate_external_id")
        shown = full_view(
            view,
            team_id=self.team_id,
            app_id=self.app_id,
            bot_id=self.bot_id,
            view_id=view_id,
            view_hash=new_view_hash(self._wall_clock()),
            root_view_id=root_view_id,
            previous_view_id=previous_view_id,
            state={"values": {}},
        )
        if external_id:
            self._external_ids[external_id] = view_id
        self._views[view_id] = shown
        self._view_users[view_id] = user_id
        return copy.deepcopy(shown)


# ---------------------------------------------------------------- argument parsing


@dataclass(frozen=True)
class _Content:
    text: str
    blocks: list[Any] | None
    attachments: list[Any] | None


def _refusal(refused: SlackError) -> ApiAnswer:
    body: dict[str, Any] = {"ok": False, "error": refused.error}
    if refused.messages:
        body["response_metadata"] = {"messages": list(refused.messages)}
    return ApiAnswer(200, body)


def _string(args: Args, name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _flag(args: Args, name: str) -> bool:
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


def _content(args: Args) -> _Content:
    text = _string(args, "text") or _string(args, "markdown_text") or ""
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
    return _Content(text, blocks_with_ids(blocks) if blocks else None, attachments)


def _modal(args: Args) -> dict[str, Any]:
    return _view(args, kinds=("modal",))


def _view(args: Args, *, kinds: tuple[str, ...]) -> dict[str, Any]:
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


# ---------------------------------------------------------------- methods


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
    channel_id = ws._resolve_channel(_string(args, "channel"))
    content = _content(args)
    message = ws._bot_message(ws._next_ts(), content, _string(args, "thread_ts"))
    ws._store(channel_id, message, ephemeral_user=None)
    return {"channel": channel_id, "ts": message["ts"], "message": message}


def _chat_post_ephemeral(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = ws._resolve_channel(_string(args, "channel"))
    user_id = _string(args, "user")
    if user_id is None or not ws._is_member(user_id, channel_id):
        raise SlackError("user_not_in_channel")
    content = _content(args)
    message = ws._bot_message(ws._next_ts(), content, _string(args, "thread_ts"))
    ws._store(channel_id, message, ephemeral_user=user_id)
    return {"message_ts": message["ts"]}


def _chat_update(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = _string(args, "channel")
    if channel_id is None or channel_id not in ws._channels:
        raise SlackError("channel_not_found")
    ts = _string(args, "ts")
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
    content = _content(args)
    stored["text"] = content.text
    for key, value in (("blocks", content.blocks), ("attachments", content.attachments)):
        if value:
            stored[key] = value
        else:
            stored.pop(key, None)
    stored["edited"] = {"user": ws.bot_user_id, "ts": ws._next_ts()}
    message = {key: value for key, value in stored.items() if key not in _MESSAGE_MARKS}
    return {
        "channel": channel_id,
        "ts": stored["ts"],
        "text": content.text,
        "message": copy.deepcopy(message),
    }


def _conversations_open(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = _string(args, "channel")
    if channel_id is not None:
        if not ws._channels.get(channel_id, {}).get("is_im"):
            raise SlackError("channel_not_found")
        user_id = ws._channels[channel_id]["user"]
    else:
        listed = [
            user.strip() for user in (_string(args, "users") or "").split(",") if user.strip()
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
    if _flag(args, "return_im"):
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
    user = ws._users.get(_string(args, "user") or "")
    if user is None:
        raise SlackError("user_not_found")
    shown = copy.deepcopy(user)
    if USERS_READ_EMAIL not in ws.scopes:  # users:read alone no longer shows the email
        shown.get("profile", {}).pop("email", None)
    return {"user": shown}


def _views_open(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    trigger = ws._usable_trigger(args)
    view = _modal(args)
    view_id = new_view_id()
    shown = ws._show_view(
        view, view_id=view_id, root_view_id=view_id, previous_view_id=None, user_id=trigger.user_id
    )
    trigger.used = True
    return {"view": shown}


def _views_push(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    trigger = ws._usable_trigger(args)
    view = _modal(args)
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
    view_id = _string(args, "view_id")
    external_id = _string(args, "external_id")
    if view_id is None and external_id is None:
        raise SlackError("invalid_arguments", "[ERROR] either view_id or external_id is required")
    if view_id is None:
        view_id = ws._external_ids.get(external_id or "")
    current = ws._views.get(view_id or "")
    if current is None:
        raise SlackError("not_found")
    view = _modal(args)
    expected_hash = _string(args, "hash")
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
    user_id = _string(args, "user_id")
    if user_id is None:
        raise SlackError("invalid_arguments", "[ERROR] missing required field: user_id")
    if user_id not in ws._users or user_id == ws.bot_user_id:
        raise SlackError("user_not_found")
    view = _view(args, kinds=("home",))
    current = ws._home_views.get(user_id)
    expected_hash = _string(args, "hash")
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


_METHODS: dict[str, Callable[[SlackWorkspace, Args], dict[str, Any]]] = {
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


# ---------------------------------------------------------------- HTTP

WORKSPACE = web.AppKey("workspace", SlackWorkspace)
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


async def _read_args(request: web.Request) -> tuple[Args, str | None, str | None]:
    """The call's arguments, the token it presented, and a transport-level error, if any."""
    args: Args = dict(request.query)
    header = request.headers.get("Authorization", "")
    token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else None
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                return args, token, "invalid_json"
            if not isinstance(body, dict):
                return args, token, "invalid_json"
            body.pop("token", None)  # with JSON, Slack reads the token only from the header
            args.update(body)
        elif request.content_type in _FORM_TYPES:
            form = await request.post()
            args.update({key: value for key, value in form.items() if isinstance(value, str)})
        else:
            return args, token, "invalid_post_type"
    presented = args.pop("token", None)
    if token is None and isinstance(presented, str):
        token = presented
    for name in JSON_ARGS:
        if isinstance(args.get(name), str):
            with contextlib.suppress(ValueError):  # the method reports it in Slack's words
                args[name] = json.loads(args[name])
    return args, token, None


async def _api_method(request: web.Request) -> web.Response:
    args, token, body_error = await _read_args(request)
    workspace = request.app[WORKSPACE]
    answer = workspace.call(request.match_info["method"], args, token=token, body_error=body_error)
    headers = {"X-Slack-Req-Id": secrets.token_hex(16), **answer.headers}
    return web.json_response(answer.body, status=answer.status, headers=headers)


async def _json_object(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


async def _post_trigger_id(request: web.Request) -> web.Response:
    body = await _json_object(request)
    trigger_id = request.app[WORKSPACE].issue_trigger_id(
        user_id=body.get("user_id"), view_id=body.get("view_id")
    )
    return web.json_response({"trigger_id": trigger_id})


async def _post_fault(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if not isinstance(body.get("method"), str):
        raise web.HTTPBadRequest(text="`method` is required")
    request.app[WORKSPACE].inject(
        body["method"],
        error=str(body.get("error", "ratelimited")),
        count=body.get("count", 1),
        retry_after=int(body.get("retry_after", 1)),
        status=body.get("status"),
    )
    return web.json_response({"ok": True})


async def _get_messages(request: web.Request) -> web.Response:
    channel_id = request.query.get("channel", "")
    return web.json_response({"messages": request.app[WORKSPACE].messages(channel_id)})


async def _get_views(request: web.Request) -> web.Response:
    return web.json_response({"views": request.app[WORKSPACE].views(request.query.get("user"))})


def create_app(workspace: SlackWorkspace) -> web.Application:
    """The Web API at `/api/<method>` and control endpoints under `/_emulator/`."""
    app = web.Application()
    app[WORKSPACE] = workspace
    app.router.add_route("GET", "/api/{method}", _api_method)
    app.router.add_route("POST", "/api/{method}", _api_method)
    add_control_routes(
        app,
        requests=lambda: {"calls": [call.to_json() for call in workspace.calls]},
        reset=workspace.reset,
        reset_answer={"ok": True},
        older_requests_paths=("/_emulator/calls",),
    )
    app.router.add_post("/_emulator/trigger_ids", _post_trigger_id)
    app.router.add_post("/_emulator/faults", _post_fault)
    app.router.add_get("/_emulator/messages", _get_messages)
    app.router.add_get("/_emulator/views", _get_views)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serve one workspace until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m emulator.slack_api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bot token to accept")
    parser.add_argument("--team-id", default=TEAM_ID)
    parser.add_argument(
        "--scopes", help="the token's bot scopes, comma separated (default: manifest.yml's)"
    )
    options = parser.parse_args(argv)
    scopes = [s.strip() for s in options.scopes.split(",") if s.strip()] if options.scopes else None
    workspace = SlackWorkspace(token=options.token, team_id=options.team_id, scopes=scopes)
    print(f"Slack Web API emulator: http://{options.host}:{options.port}/api/", flush=True)
    web.run_app(create_app(workspace), host=options.host, port=options.port, print=None)


if __name__ == "__main__":
    main()
