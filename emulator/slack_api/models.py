"""The workspace's state and its answers: users, channels, messages, views, triggers."""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from emulator.control import Faults, RequestLog
from emulator.slack_api.manifest import manifest_bot_events, manifest_home_tab_enabled
from emulator.slack_requests import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    full_view,
    new_trigger_id,
    new_view_hash,
)
from emulator.slack_scopes import accepted_scopes, manifest_bot_scopes, missing_scope

DEFAULT_TOKEN = "xoxb-emulator-token"
DEFAULT_USER_ID = "U0EMUPAYER"
GENERAL_CHANNEL_ID = "C0GENERAL"
TRIGGER_LIFETIME_SECONDS = 3.0
MAX_TEXT_LENGTH = 40_000
MAX_VIEW_BYTES = 250_000
MAX_VIEW_STACK = 3
JSON_ARGS = ("view", "blocks", "attachments", "metadata", "prompts", "loading_messages")
SCOPES_HEADER = "x-oauth-scopes"
ACCEPTED_SCOPES_HEADER = "x-accepted-oauth-scopes"
MESSAGE_MARKS = ("channel", "is_ephemeral", "ephemeral_user")
STATUS_TIMEOUT_SECONDS = 120.0  # Slack removes a thread's status after two minutes of silence

Args = dict[str, Any]


@dataclass(frozen=True)
class Content:
    text: str
    blocks: list[Any] | None
    attachments: list[Any] | None


def string_arg(args: Args, name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value)


class SlackError(Exception):
    """Slack's `{"ok": false, "error": ...}`; `messages` go in `response_metadata`."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages


class SilentlyIgnored(Exception):
    """Slack answers `{"ok": true}` but does nothing; `note` says why, in the call log only."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


@dataclass(frozen=True)
class ApiAnswer:
    """What the Web API answers: HTTP status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiCall:
    """One recorded Web API call (the token is never recorded).

    `note` marks a call Slack answered `ok` but silently ignored, and says why.
    """

    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    status: int
    duration: float
    response: dict[str, Any]
    note: str | None = None

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


@dataclass(frozen=True)
class ThreadStatus:
    """A thread's status line (assistant.threads.setStatus), set at `set_at` on the clock."""

    status: str
    loading_messages: tuple[str, ...]
    set_at: float

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "loading_messages": list(self.loading_messages)}


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
        bot_events: Iterable[str] | None = None,
        home_tab_enabled: bool | None = None,
    ) -> None:
        """`users` are `users.info` objects (default: one payer); `channels` maps id to name.

        `clock` times trigger ids and thread statuses; `wall_clock` makes message `ts` values.
        `scopes` are the token's bot scopes, `bot_events` the events the app subscribes to and
        `home_tab_enabled` whether it has a Home tab (defaults: what manifest.yml says).
        """
        self.token = token
        self.scopes: tuple[str, ...] = (
            tuple(scopes) if scopes is not None else manifest_bot_scopes()
        )
        self.bot_events: tuple[str, ...] = (
            tuple(bot_events) if bot_events is not None else manifest_bot_events()
        )
        self.home_tab_enabled = (
            home_tab_enabled if home_tab_enabled is not None else manifest_home_tab_enabled()
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
        self._prompts: dict[str, dict[str, Any]] = {}
        self._statuses: dict[tuple[str, str], ThreadStatus] = {}
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

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab view last published for `user_id` (views.publish), or None."""
        with self._lock:
            shown = self._home_views.get(user_id)
            return copy.deepcopy(shown) if shown is not None else None

    def suggested_prompts(self, channel_id: str) -> dict[str, Any] | None:
        """`{"title": str | None, "prompts": [{"title", "message"}]}` shown in a DM, or None."""
        with self._lock:
            shown = self._prompts.get(channel_id)
            return copy.deepcopy(shown) if shown is not None else None

    def thread_statuses(self, channel_id: str) -> dict[str, dict[str, Any]]:
        """The statuses showing in a channel's threads, by thread_ts: `{status, loading_messages}`.

        A status shows until the app posts in that thread, clears it, or two minutes pass.
        """
        with self._lock:
            now = self._clock()
            return {
                thread_ts: status.to_json()
                for (channel, thread_ts), status in self._statuses.items()
                if channel == channel_id and now - status.set_at < STATUS_TIMEOUT_SECONDS
            }

    def subscribes_to(self, event: str) -> bool:
        """Whether the app hears `event` (a bot event name, e.g. `message.im`)."""
        return event in self.bot_events

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
        answer, note = self._answer(method, dict(args), token, body_error)
        recorded = ApiCall(
            method=method,
            args=copy.deepcopy(dict(args)),
            ok=answer.body.get("ok") is True,
            error=answer.body.get("error"),
            status=answer.status,
            duration=time.perf_counter() - started,
            response=copy.deepcopy(answer.body),
            note=note,
        )
        self._calls.add(recorded)
        return answer

    def _answer(
        self, method: str, args: Args, token: str | None, body_error: str | None
    ) -> tuple[ApiAnswer, str | None]:
        """The answer, and a note when Slack would silently ignore the call."""
        from emulator.slack_api.methods import METHODS  # the methods read this module

        handler = METHODS.get(method)
        if handler is None:
            body = {"ok": False, "error": "unknown_method", "req_method": method}
            return ApiAnswer(404, body), None
        if body_error is not None:
            return refusal(SlackError(body_error)), None
        if not token:
            return refusal(SlackError("not_authed")), None
        if not secrets.compare_digest(token, self.token):
            return refusal(SlackError("invalid_auth")), None
        granted = self.scopes
        headers = {SCOPES_HEADER: ",".join(granted)}
        if accepted_scopes(method):
            headers[ACCEPTED_SCOPES_HEADER] = accepted_scopes(method)
        with self._lock:
            fault = self._take_fault(method)
            if fault is not None:
                if fault.status == 429:
                    headers["Retry-After"] = str(fault.retry_after)
                return ApiAnswer(fault.status, {"ok": False, "error": fault.error}, headers), None
            needed = missing_scope(method, granted)
            if needed is not None:
                body = {
                    "ok": False,
                    "error": "missing_scope",
                    "needed": needed,
                    "provided": ",".join(granted),
                }
                return ApiAnswer(200, body, headers), None
            try:
                return ApiAnswer(200, {"ok": True, **handler(self, args)}, headers), None
            except SilentlyIgnored as ignored:
                return ApiAnswer(200, {"ok": True}, headers), ignored.note
            except SlackError as refused:
                return replace(refusal(refused), headers=headers), None

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

    def _bot_message(self, ts: str, content: Content, thread_ts: str | None) -> dict[str, Any]:
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
        if "thread_ts" in message:  # the app's reply ends the thread's status
            self._statuses.pop((channel_id, message["thread_ts"]), None)

    def _usable_trigger(self, args: Args) -> _Trigger:
        trigger_id = string_arg(args, "trigger_id") or string_arg(args, "interactivity_pointer")
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


def refusal(refused: SlackError) -> ApiAnswer:
    body: dict[str, Any] = {"ok": False, "error": refused.error}
    if refused.messages:
        body["response_metadata"] = {"messages": list(refused.messages)}
    return ApiAnswer(200, body)
