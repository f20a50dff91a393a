"""Slack towards the app: what the person does, as Slack's requests; the answers, on the page."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

from emulator.slack_api import DEFAULT_USER_ID, ApiCall, SlackWorkspace
from emulator.slack_api.models import STATUS_TIMEOUT_SECONDS
from emulator.slack_requests import (
    AppHomeTab,
    SlackRequest,
    app_home_opened,
    block_actions,
    full_view,
    message_im_event,
    new_ts,
    slash_command,
    view_closed,
    view_submission,
)
from emulator.workspace.masking import mask_card_numbers
from emulator.workspace.page import EventHub, Json, Page, since_ms

if TYPE_CHECKING:
    from emulator.workspace.teams import TeamsChat, TeamsEndpoint

USER_NAME, USER_REAL_NAME = "pat", "Pat Payer"  # slack_api's default user
SLACK_TIMEOUT_SECONDS = 3.0  # Slack gives an app 3 s to answer
RESPONSE_URL_LIMIT = 1000
AGENT_METHODS = ("assistant.threads.setSuggestedPrompts", "assistant.threads.setStatus")


@dataclass(frozen=True)
class AppEndpoint:
    """Where the app takes Slack's requests, and the secret Slack signs them with."""

    url: str
    signing_secret: str = field(repr=False)
    timeout: float = SLACK_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Delivery:
    """The app's HTTP answer to one request."""

    status: int
    body: str

    def json(self) -> Json | None:
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


class InvalidAction(Exception):
    """The page asked for something the workspace cannot do (stale view, unknown button)."""


class WorkspaceUI:
    """One person in the workspace: turns what they do into Slack's requests to the app, and
    applies the app's answers and Web API calls to the page; with `teams`, the same person's
    Teams chat with the app is on the page too (`emulator.workspace.teams`)."""

    def __init__(
        self,
        workspace: SlackWorkspace,
        endpoint: AppEndpoint,
        *,
        user_id: str = DEFAULT_USER_ID,
        hub: EventHub | None = None,
        teams: TeamsEndpoint | None = None,
    ) -> None:
        self.workspace = workspace
        self.endpoint = endpoint
        self.user_id = user_id
        self.hub = hub or EventHub()
        self.page = Page(self.hub.publish)
        self.dm_channel = workspace.dm_channel(user_id)
        self._http: aiohttp.ClientSession | None = None
        self._response_urls: dict[str, str | None] = {}
        workspace.subscribe(self._on_api_call)
        self.teams: TeamsChat | None = None
        if teams is not None:
            # Here, not above: the Teams stand-ins load the Teams SDK's models, most of a second.
            from emulator.workspace.teams import TeamsChat

            self.teams = TeamsChat(teams, self.page, self.hub, USER_REAL_NAME)

    def snapshot(self) -> Json:
        """Everything the page shows, and the names it needs (never a token or a secret)."""
        ws = self.workspace
        return {
            **self.page.snapshot(),
            "team_name": ws.team_name,
            "app_name": ws.bot_name,
            "user_name": USER_REAL_NAME,
            "people": {self.user_id: USER_NAME, ws.bot_user_id: ws.bot_name},
            "home_tab": ws.home_tab_enabled,
            "teams": self.teams.snapshot() if self.teams is not None else None,
        }

    async def start(self) -> None:
        self.hub.attach(asyncio.get_running_loop())
        self.page.show_home(self.workspace.home_view(self.user_id))
        self._show_agent_state()

    async def close(self) -> None:
        self.hub.close()
        if self.teams is not None:
            await self.teams.close()
        if self._http is not None:
            await self._http.close()

    # ------------------------------------------------------------ what the person does

    async def say(self, text: str, *, base_url: str) -> None:
        """The person sent `text` in the DM: a slash command if it starts with one."""
        command = re.fullmatch(r"(/[\w-]+)(?:\s+(.*))?", text.strip(), re.DOTALL)
        if command:
            await self._command(command[1], slack_escape(command[2] or ""), base_url=base_url)
            return
        await self._send(slack_escape(text))

    async def send_prompt(self, index: int) -> None:
        """The person clicked the app's suggested prompt `index`: its message is sent as theirs."""
        shown = self.workspace.suggested_prompts(self.dm_channel)
        prompts = shown["prompts"] if shown is not None else []
        if not 0 <= index < len(prompts):
            raise InvalidAction("no such suggested prompt")
        await self._send(slack_escape(prompts[index]["message"]))

    async def open_tab(self, tab: AppHomeTab) -> None:
        """The person opened the app's Messages or Home tab: Slack tells the app if it listens."""
        if tab == "home" and not self.workspace.home_tab_enabled:
            raise InvalidAction("the app has no Home tab (features.app_home.home_tab_enabled)")
        self.page.show_tab(tab)
        if self.workspace.subscribes_to("app_home_opened"):
            view = self.workspace.home_view(self.user_id) if tab == "home" else None
            request = app_home_opened(
                user_id=self.user_id, channel_id=self.dm_channel, tab=tab, view=view
            )
            await self._deliver("app_home_opened", request)

    async def press(
        self, *, block_id: str, index: int, base_url: str, message_id: str = "", view_id: str = ""
    ) -> None:
        """The person pressed a button in a message, in the open modal, or in the Home tab."""
        if view_id:
            view, in_modal = self._pressed_view(view_id)
            element = _element(view["blocks"], block_id, index)
            request = block_actions(
                **_button_fields(element, block_id),
                user_id=self.user_id,
                trigger_id=self.workspace.issue_trigger_id(
                    user_id=self.user_id, view_id=view_id if in_modal else None
                ),
                view=view,
                user_name=USER_NAME,
            )
        else:
            message = self.page.message(message_id)
            if message is None:
                raise InvalidAction("no such message")
            element = _element(message["blocks"], block_id, index)
            request = block_actions(
                **_button_fields(element, block_id),
                user_id=self.user_id,
                trigger_id=self.workspace.issue_trigger_id(user_id=self.user_id),
                channel_id=self.dm_channel,
                message_ts=message["ts"],
                message=self._stored_message(message["ts"]),
                is_ephemeral=message["ephemeral"],
                response_url=self._response_url(base_url, message_id),
                user_name=USER_NAME,
            )
        await self._deliver("block_actions", request)

    async def submit(self, view_id: str, values: Mapping[str, Mapping[str, str | None]]) -> None:
        """The person pressed Submit with `values` typed (block id -> action id -> text)."""
        view = self._open_view(view_id)
        try:
            request = view_submission(
                view=view,
                values=values,
                user_id=self.user_id,
                trigger_id=self.workspace.issue_trigger_id(user_id=self.user_id, view_id=view_id),
                user_name=USER_NAME,
            )
        except ValueError as exc:
            raise InvalidAction(str(exc)) from None
        delivery = await self._deliver("view_submission", request)
        if delivery is None or delivery.status != 200:
            notice = "We had some trouble connecting. Try again?"
            self.page.show_views(lambda stack: stack, notice=notice)
            return
        self._apply_response_action(view, delivery.json() or {})

    async def close_view(self, view_id: str) -> None:
        """The person closed the open modal: back to the one below it, or all if it says so."""
        view = self._open_view(view_id)
        cleared = bool(view.get("clear_on_close"))
        self.page.show_views(lambda stack: [] if cleared else stack[:-1])
        if view.get("notify_on_close"):
            request = view_closed(
                view=view, user_id=self.user_id, is_cleared=cleared, user_name=USER_NAME
            )
            await self._deliver("view_closed", request)

    def respond(self, token: str, body: Json) -> bool:
        """The app posted `body` to a `response_url` this workspace issued; False if unknown."""
        if token not in self._response_urls:
            return False
        original = self._response_urls[token]
        self.page.record(_api_entry("response_url", body, 200, True, None, 0.0, {"ok": True}))
        if original and body.get("delete_original"):
            self.page.remove_message(original)
        elif original and body.get("replace_original"):
            shown = self.page.message(original)
            if shown is not None:
                self.page.show_message({**shown, **_content(body), "edited": True})
        else:
            self._show_reply(body)
        return True

    async def _send(self, sent: str) -> None:
        """A top-level message from the person (already escaped), delivered as `message.im`."""
        ts = new_ts()
        self.page.show_message(
            _message(f"u:{ts}", ts, "you", USER_REAL_NAME, mask_card_numbers(sent))
        )
        if self.workspace.subscribes_to("message.im"):
            request = message_im_event(
                user_id=self.user_id, channel_id=self.dm_channel, text=sent, ts=ts
            )
            await self._deliver("message.im", request)

    # ------------------------------------------------------------ the app's answers

    async def _command(self, command: str, text: str, *, base_url: str) -> None:
        request = slash_command(
            command=command,
            text=text,
            user_id=self.user_id,
            user_name=USER_NAME,
            channel_id=self.dm_channel,
            trigger_id=self.workspace.issue_trigger_id(user_id=self.user_id),
            response_url=self._response_url(base_url, None),
        )
        delivery = await self._deliver(f"{command} {text}".strip(), request)
        if delivery is None or delivery.status != 200:
            error = "operation_timeout" if delivery is None else "dispatch_failed"
            self._slackbot(f'{command} failed with the error "{error}"')
        elif delivery.body.strip():
            self._show_reply(delivery.json() or {"text": delivery.body})

    def _show_reply(self, body: Json) -> None:
        """A slash-command or response_url answer: only visible to the person unless in_channel."""
        ts = new_ts()
        ephemeral = body.get("response_type") != "in_channel"
        self.page.show_message(
            {**_message(f"r:{ts}", ts, "app", self.workspace.bot_name, ""), **_content(body)}
            | {"ephemeral": ephemeral}
        )

    def _slackbot(self, text: str) -> None:
        ts = new_ts()
        self.page.show_message(
            _message(f"s:{ts}", ts, "slackbot", "Slackbot", text) | {"ephemeral": True}
        )

    def _apply_response_action(self, view: Json, answer: Json) -> None:
        action = answer.get("response_action")
        new_view = answer.get("view")
        if action == "errors":
            errors = answer.get("errors")
            self.page.show_views(
                lambda stack: stack, errors=errors if isinstance(errors, dict) else {}
            )
        elif action == "update" and isinstance(new_view, dict):
            updated = self._full_view(new_view, like=view)
            self.page.show_views(lambda stack: _replaced(stack, updated))
        elif action == "push" and isinstance(new_view, dict):
            pushed = self._full_view(new_view, previous=view)
            self.page.show_views(lambda stack: [*stack, pushed])
        elif action == "clear":
            self.page.show_views(lambda stack: [])
        else:  # an empty 200 closes the submitted view
            self.page.show_views(lambda stack: [v for v in stack if v["id"] != view["id"]])

    def _full_view(
        self, view: Json, *, like: Json | None = None, previous: Json | None = None
    ) -> Json:
        ws = self.workspace
        if like is not None:
            ids = {
                "view_id": like["id"],
                "root_view_id": like["root_view_id"],
                "previous_view_id": like.get("previous_view_id"),
            }
        else:
            assert previous is not None
            ids = {"root_view_id": previous["root_view_id"], "previous_view_id": previous["id"]}
        fresh = {key: value for key, value in view.items() if key not in ("id", "hash", "state")}
        return full_view(fresh, team_id=ws.team_id, app_id=ws.app_id, bot_id=ws.bot_id, **ids)

    def _on_api_call(self, call: ApiCall) -> None:
        self.page.record(
            _api_entry(
                call.method,
                call.args,
                call.status,
                call.ok,
                call.error,
                call.duration,
                call.response,
                call.note,
            )
        )
        if not call.ok:
            return
        answer = call.response
        if call.method in ("views.open", "views.push", "views.update"):
            self._apply_view_call(call.method, answer["view"])
        elif call.method == "views.publish" and call.args.get("user_id") == self.user_id:
            self.page.show_home(answer["view"])
        elif call.method in ("chat.postMessage", "chat.update") and (
            answer.get("channel") == self.dm_channel
        ):
            self._show_app_message(answer["message"], ephemeral=False)
        elif call.method == "chat.postEphemeral":
            for message in self.workspace.messages(self.dm_channel):
                if message["ts"] == answer.get("message_ts"):
                    self._show_app_message(message, ephemeral=True)
        if call.method in AGENT_METHODS or call.args.get("thread_ts"):
            self._show_agent_state()  # a reply in a thread ends its status
        if call.method == "assistant.threads.setStatus" and call.args.get("status"):
            self.hub.later(STATUS_TIMEOUT_SECONDS + 0.1, self._show_agent_state)

    def _show_agent_state(self) -> None:
        self.page.show_agent(
            self.workspace.suggested_prompts(self.dm_channel),
            self.workspace.thread_statuses(self.dm_channel),
        )

    def _apply_view_call(self, method: str, view: Json) -> None:
        if method == "views.open":
            self.page.show_views(lambda stack: [view])
        elif method == "views.push":
            self.page.show_views(lambda stack: [*stack, view])
        else:
            self.page.show_views(lambda stack: _replaced(stack, view))

    def _show_app_message(self, message: Json, *, ephemeral: bool) -> None:
        shown = _message(f"m:{message['ts']}", message["ts"], "app", self.workspace.bot_name, "")
        shown.update(_content(message), ephemeral=ephemeral, edited="edited" in message)
        shown["thread_ts"] = message.get("thread_ts")
        self.page.show_message(shown)

    # ------------------------------------------------------------ plumbing

    async def _deliver(self, name: str, request: SlackRequest) -> Delivery | None:
        """POST `request` to the app, signed, and record it; None when the app did not answer."""
        headers = request.headers(self.endpoint.signing_secret)
        entry_id = self.page.record(
            {
                "direction": "to_app",
                "name": name,
                "at": time.time(),
                "status": "…",
                "headers": headers,  # the signature, never the secret
                "request": dict(request.data),
            }
        )
        started = time.perf_counter()
        if self._http is None:  # made here, on the server's loop, and only if needed
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(self.endpoint.timeout))
        try:
            async with self._http.post(
                self.endpoint.url,
                data=request.body,
                headers=headers,
            ) as answer:
                delivery = Delivery(answer.status, await answer.text())
        except (aiohttp.ClientError, TimeoutError) as exc:
            failure = "timeout" if isinstance(exc, TimeoutError) else "unreachable"
            self.page.record({"status": failure, "duration": since_ms(started)}, entry_id)
            return None
        response: Any = delivery.json() if delivery.body.strip() else None
        self.page.record(
            {
                "status": delivery.status,
                "ok": 200 <= delivery.status < 300,
                "duration": since_ms(started),
                "response": response if response is not None else delivery.body,
            },
            entry_id,
        )
        return delivery

    def _open_view(self, view_id: str) -> Json:
        view = self.page.top_view
        if view is None or view["id"] != view_id:
            raise InvalidAction("that view is no longer open")
        return view

    def _pressed_view(self, view_id: str) -> tuple[Json, bool]:
        """The view a button was pressed in, and whether it is the open modal (else: Home)."""
        home = self.workspace.home_view(self.user_id)
        if home is not None and home["id"] == view_id:
            return home, False
        return self._open_view(view_id), True

    def _stored_message(self, ts: str) -> Json | None:
        for message in self.workspace.messages(self.dm_channel):
            if message["ts"] == ts and not message["is_ephemeral"]:
                marks = ("channel", "is_ephemeral", "ephemeral_user")
                return {key: value for key, value in message.items() if key not in marks}
        return None

    def _response_url(self, base_url: str, message_id: str | None) -> str:
        token = secrets.token_urlsafe(18)
        self._response_urls[token] = message_id
        if len(self._response_urls) > RESPONSE_URL_LIMIT:  # Slack's expire after 30 minutes
            del self._response_urls[next(iter(self._response_urls))]
        return f"{base_url}/_workspace/response_urls/{token}"


def _replaced(stack: list[Json], view: Json) -> list[Json]:
    """The stack with the view of the same id swapped for `view`."""
    return [view if shown["id"] == view["id"] else shown for shown in stack]


def slack_escape(text: str) -> str:
    """Text as Slack's client sends it: `&`, `<` and `>` as HTML entities (the rest is markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _message(message_id: str, ts: str, author: str, name: str, text: str) -> Json:
    return {
        "id": message_id,
        "ts": ts,
        "thread_ts": None,
        "author": author,
        "name": name,
        "text": text,
        "blocks": [],
        "ephemeral": False,
        "edited": False,
    }


def _content(body: Mapping[str, Any]) -> Json:
    text = body.get("text")
    blocks = body.get("blocks")
    return {
        "text": text if isinstance(text, str) else "",
        "blocks": blocks if isinstance(blocks, list) else [],
    }


def _element(blocks: Sequence[Json], block_id: str, index: int) -> Json:
    for block in blocks:
        if block.get("block_id") != block_id:
            continue
        elements = block.get("elements") if block.get("type") == "actions" else None
        candidates = elements if isinstance(elements, list) else [block.get("accessory")]
        candidate = candidates[index] if 0 <= index < len(candidates) else None
        if isinstance(candidate, dict) and candidate.get("type") == "button":
            return candidate
    raise InvalidAction("no such button")


def _button_fields(element: Json, block_id: str) -> Json:
    text = element.get("text")
    return {
        "action_id": element.get("action_id") or f"{block_id}-button",
        "block_id": block_id,
        "value": str(element.get("value", "")),
        "button_text": text.get("text", "") if isinstance(text, dict) else "",
    }


def _api_entry(
    name: str,
    args: Mapping[str, Any],
    status: int,
    ok: bool,
    error: str | None,
    duration: float,
    response: Mapping[str, Any],
    note: str | None = None,
) -> Json:
    entry = {
        "direction": "from_app",
        "name": name,
        "at": time.time(),
        "status": status,
        "ok": ok,
        "error": error,
        "duration": round(duration * 1000, 1),
        "request": dict(args),
        "response": dict(response),
    }
    return entry if note is None else {**entry, "note": note}
