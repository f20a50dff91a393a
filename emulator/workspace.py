"""A Slack workspace in the browser: one person's DM with the app, its modals, an inspector.

The page at `/` talks only to this server, which plays Slack towards the app: what the person
does becomes the signed request Slack would send to the app's Request URL (`message.im` events,
slash commands, `block_actions`, `view_submission`, `view_closed`), and the app's HTTP answers
are applied as Slack applies them. The Slack Web API is served here too (`/api/<method>`, the
`slack_api` emulator), and every call the app makes is pushed to the page as it happens
(Server-Sent Events at `/_workspace/events`).

Point it at any Bolt app, then give the app `SLACK_API_URL=http://127.0.0.1:3000/api/`::

    python -m emulator.workspace --port 3000 \\
        --bot-url http://127.0.0.1:3001/slack/events --signing-secret S

The page never receives the bot token or the signing secret. What the inspector keeps has card
numbers masked and CVC and expiry values dropped; typed modal values live only in the request
that submits them.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from emulator import slack_api
from emulator.slack_api import DEFAULT_TOKEN, DEFAULT_USER_ID, ApiCall, SlackWorkspace
from emulator.slack_requests import (
    SlackRequest,
    block_actions,
    full_view,
    message_im_event,
    new_ts,
    slash_command,
    view_closed,
    view_submission,
)

__all__ = [
    "UI",
    "AppEndpoint",
    "EventHub",
    "Page",
    "WorkspaceUI",
    "create_app",
    "is_loopback",
    "main",
    "mask_card_numbers",
    "masked",
    "slack_escape",
]

STATIC = Path(__file__).with_name("static")
USER_NAME, USER_REAL_NAME = "pat", "Pat Payer"  # slack_api's default user
SLACK_TIMEOUT_SECONDS = 3.0  # Slack gives an app 3 s to answer
HEARTBEAT_SECONDS = 15.0
INSPECTOR_LIMIT = 500
RESPONSE_URL_LIMIT = 1000

Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# ---------------------------------------------------------------- masking

DROPPED = "[removed]"
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")
_SECRET_FIELD = re.compile(r"cvc|cvv|expiry|exp_month|exp_year", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _holds_card_number(digits: str) -> bool:
    """Whether some 13-19 digit window of `digits` passes the Luhn check."""
    return any(
        _luhn_valid(digits[start : start + length])
        for length in range(13, min(len(digits), 19) + 1)
        for start in range(len(digits) - length + 1)
    )


def mask_card_numbers(text: str) -> str:
    """`text` with each digit run that holds a Luhn-valid 13-19 digit number masked.

    A run that is exactly a card number keeps its last four (`•••• 4242`); a longer run that
    hides one is masked whole.
    """

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if not _holds_card_number(digits):
            return match.group()
        whole = 13 <= len(digits) <= 19 and _luhn_valid(digits)
        return f"•••• {digits[-4:]}" if whole else "••••"

    return _DIGIT_RUN.sub(mask, text)


def masked(data: Any, *, key: str = "", secret: bool = False) -> Any:
    """A copy of JSON `data` fit to keep and show: card numbers masked, CVC and expiry dropped.

    A typed value (`"value"`) anywhere under a CVC or expiry key is dropped, and so is a string
    keyed by one that holds no letters (a value, not a message such as an inline error).
    """
    if isinstance(data, Mapping):
        inside = secret or bool(_SECRET_FIELD.search(key))
        return {str(k): masked(v, key=str(k), secret=inside) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(item, key=key, secret=secret) for item in data]
    if isinstance(data, str):
        if (secret and key == "value") or (_SECRET_FIELD.search(key) and not _LETTER.search(data)):
            return DROPPED
        return mask_card_numbers(data)
    return data


# ---------------------------------------------------------------- what the page shows


class EventHub:
    """Fans events out to every open event stream; `publish` is safe from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: set[asyncio.Queue[bytes | None]] = set()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def listen(self) -> asyncio.Queue[bytes | None]:
        """A new stream's queue (call on the server's loop); None in it means the end."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queues.add(queue)
        return queue

    def forget(self, queue: asyncio.Queue[bytes | None]) -> None:
        self._queues.discard(queue)

    def publish(self, kind: str, data: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._fan_out, sse(kind, data))

    def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(None)

    def _fan_out(self, event: bytes) -> None:
        for queue in self._queues:
            queue.put_nowait(event)


def sse(kind: str, data: Any) -> bytes:
    """One Server-Sent Event."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Page:
    """What the browser shows: the DM, the modal stack and the inspector (thread-safe).

    Every change is published as an idempotent event (`message`, `modal`, `inspector`), under
    the lock, so the stream's order is the order of the changes.
    """

    def __init__(self, publish: Callable[[str, Any], None]) -> None:
        self._publish = publish
        self._lock = threading.Lock()
        self._messages: dict[str, Json] = {}
        self._stack: list[Json] = []
        self._errors: dict[str, str] = {}
        self._notice: str | None = None
        self._inspector: dict[int, Json] = {}
        self._next_entry = 1

    def snapshot(self) -> Json:
        with self._lock:
            return {
                "messages": list(self._messages.values()),
                "modal": self._modal(),
                "inspector": list(self._inspector.values()),
            }

    def message(self, message_id: str) -> Json | None:
        with self._lock:
            return self._messages.get(message_id)

    def show_message(self, message: Json) -> None:
        """Add a message, or replace the one with the same id."""
        with self._lock:
            self._messages[message["id"]] = message
            self._publish("message", message)

    def remove_message(self, message_id: str) -> None:
        with self._lock:
            if self._messages.pop(message_id, None) is not None:
                self._publish("message", {"id": message_id, "deleted": True})

    @property
    def top_view(self) -> Json | None:
        with self._lock:
            return self._stack[-1] if self._stack else None

    def show_views(
        self,
        change: Callable[[list[Json]], list[Json]],
        *,
        errors: Mapping[str, str] | None = None,
        notice: str | None = None,
    ) -> None:
        """Replace the modal stack with `change(stack)`, and its inline errors and notice."""
        with self._lock:
            self._stack = change(list(self._stack))
            self._errors = dict(errors or {})
            self._notice = notice
            self._publish("modal", self._modal())

    def record(self, entry: Json, entry_id: int | None = None) -> int:
        """Add an inspector entry (masked here), or complete entry `entry_id`; returns its id."""
        with self._lock:
            if entry_id is None:
                entry_id, self._next_entry = self._next_entry, self._next_entry + 1
                if len(self._inspector) >= INSPECTOR_LIMIT:
                    del self._inspector[next(iter(self._inspector))]
            shown = {**self._inspector.get(entry_id, {}), **masked(entry), "id": entry_id}
            self._inspector[entry_id] = shown
            self._publish("inspector", shown)
            return entry_id

    def _modal(self) -> Json:
        return {
            "view": self._stack[-1] if self._stack else None,
            "depth": len(self._stack),
            "errors": dict(self._errors),
            "notice": self._notice,
        }


# ---------------------------------------------------------------- Slack, towards the app


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
    applies the app's answers and Web API calls to the page."""

    def __init__(
        self,
        workspace: SlackWorkspace,
        endpoint: AppEndpoint,
        *,
        user_id: str = DEFAULT_USER_ID,
        hub: EventHub | None = None,
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

    def snapshot(self) -> Json:
        """Everything the page shows, and the names it needs (never a token or a secret)."""
        ws = self.workspace
        return {
            **self.page.snapshot(),
            "team_name": ws.team_name,
            "app_name": ws.bot_name,
            "user_name": USER_REAL_NAME,
            "people": {self.user_id: USER_NAME, ws.bot_user_id: ws.bot_name},
        }

    async def start(self) -> None:
        self.hub.attach(asyncio.get_running_loop())

    async def close(self) -> None:
        self.hub.close()
        if self._http is not None:
            await self._http.close()

    # ------------------------------------------------------------ what the person does

    async def say(self, text: str, *, base_url: str) -> None:
        """The person sent `text` in the DM: a slash command if it starts with one."""
        command = re.fullmatch(r"(/[\w-]+)(?:\s+(.*))?", text.strip(), re.DOTALL)
        if command:
            await self._command(command[1], slack_escape(command[2] or ""), base_url=base_url)
            return
        ts, sent = new_ts(), slack_escape(text)
        self.page.show_message(
            _message(f"u:{ts}", ts, "you", USER_REAL_NAME, mask_card_numbers(sent))
        )
        request = message_im_event(user_id=self.user_id, channel_id=self.dm_channel, text=sent)
        await self._deliver("message.im", request)

    async def press(
        self, *, block_id: str, index: int, base_url: str, message_id: str = "", view_id: str = ""
    ) -> None:
        """The person pressed a button in a message, or in the open modal."""
        if view_id:
            view = self._open_view(view_id)
            element = _element(view["blocks"], block_id, index)
            request = block_actions(
                **_button_fields(element, block_id),
                user_id=self.user_id,
                trigger_id=self.workspace.issue_trigger_id(user_id=self.user_id, view_id=view_id),
                view=view,
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
            )
        )
        if not call.ok:
            return
        answer = call.response
        if call.method in ("views.open", "views.push", "views.update"):
            self._apply_view_call(call.method, answer["view"])
        elif call.method in ("chat.postMessage", "chat.update") and (
            answer.get("channel") == self.dm_channel
        ):
            self._show_app_message(answer["message"], ephemeral=False)
        elif call.method == "chat.postEphemeral":
            for message in self.workspace.messages(self.dm_channel):
                if message["ts"] == answer.get("message_ts"):
                    self._show_app_message(message, ephemeral=True)

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
            self.page.record({"status": failure, "duration": _since(started)}, entry_id)
            return None
        response: Any = delivery.json() if delivery.body.strip() else None
        self.page.record(
            {
                "status": delivery.status,
                "ok": 200 <= delivery.status < 300,
                "duration": _since(started),
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
) -> Json:
    return {
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


def _since(started: float) -> float:
    """Milliseconds since `started` (a perf_counter reading)."""
    return round((time.perf_counter() - started) * 1000, 1)


# ---------------------------------------------------------------- HTTP

UI = web.AppKey("workspace_ui", WorkspaceUI)


async def _page_request(request: web.Request) -> Json:
    """The JSON body of a call from the page; JSON only, so other sites cannot post forms here."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send application/json")
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def _base_url(request: web.Request) -> str:
    """This server's own address, as the app must reach it (never a name the page chose)."""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    port = sockname[1] if sockname else 80
    return f"http://127.0.0.1:{port}"


@web.middleware
async def _this_machine_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a request for another host name: no page elsewhere gets in by renaming us."""
    if not is_loopback(f"http://{request.host}"):
        raise web.HTTPForbidden(text="this workspace answers only on 127.0.0.1")
    return await handler(request)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def _state(request: web.Request) -> web.Response:
    return web.json_response(request.app[UI].snapshot())


async def _events(request: web.Request) -> web.StreamResponse:
    ui = request.app[UI]
    stream = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    await stream.prepare(request)
    queue = ui.hub.listen()
    try:
        await stream.write(sse("snapshot", ui.snapshot()))
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                event = b": still here\n\n"
            if event is None:
                break
            await stream.write(event)
    except ConnectionResetError:
        pass  # the page went away
    finally:
        ui.hub.forget(queue)
    return stream


def _text_field(body: Json, name: str, *, required: bool = True) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise web.HTTPBadRequest(text=f"`{name}` must be a non-empty string")
    return value


async def _act(action: Awaitable[None]) -> web.Response:
    try:
        await action
    except InvalidAction as exc:
        raise web.HTTPConflict(text=f"cannot do that: {exc}") from None
    return web.json_response({"ok": True})


async def _post_message(request: web.Request) -> web.Response:
    body = await _page_request(request)
    ui = request.app[UI]
    return await _act(ui.say(_text_field(body, "text"), base_url=_base_url(request)))


async def _post_action(request: web.Request) -> web.Response:
    body = await _page_request(request)
    index = body.get("index", 0)
    if not isinstance(index, int):
        raise web.HTTPBadRequest(text="`index` must be a number")
    press = request.app[UI].press(
        block_id=_text_field(body, "block_id"),
        index=index,
        message_id=_text_field(body, "message_id", required=False),
        view_id=_text_field(body, "view_id", required=False),
        base_url=_base_url(request),
    )
    return await _act(press)


async def _post_submission(request: web.Request) -> web.Response:
    body = await _page_request(request)
    values = body.get("values", {})
    if not isinstance(values, dict) or not all(
        isinstance(typed, dict) and all(isinstance(text, str | None) for text in typed.values())
        for typed in values.values()
    ):
        raise web.HTTPBadRequest(text="`values` must map block ids to {action_id: text}")
    return await _act(request.app[UI].submit(_text_field(body, "view_id"), values))


async def _post_close(request: web.Request) -> web.Response:
    body = await _page_request(request)
    return await _act(request.app[UI].close_view(_text_field(body, "view_id")))


async def _post_response_url(request: web.Request) -> web.Response:
    body = await _page_request(request)
    if not request.app[UI].respond(request.match_info["token"], body):
        raise web.HTTPNotFound(text="no_service")
    return web.json_response({"ok": True})


def create_app(
    workspace: SlackWorkspace, endpoint: AppEndpoint, *, user_id: str = DEFAULT_USER_ID
) -> web.Application:
    """The page, its endpoints under `/_workspace/`, and `slack_api`'s Web API for `workspace`."""
    app = slack_api.create_app(workspace)
    app.middlewares.append(_this_machine_only)
    ui = WorkspaceUI(workspace, endpoint, user_id=user_id)
    app[UI] = ui

    async def start(_: web.Application) -> None:
        await ui.start()

    async def end_streams(_: web.Application) -> None:
        ui.hub.close()

    async def close(_: web.Application) -> None:
        await ui.close()

    app.on_startup.append(start)
    app.on_shutdown.append(end_streams)
    app.on_cleanup.append(close)
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/_workspace/state", _state)
    app.router.add_get("/_workspace/events", _events)
    app.router.add_post("/_workspace/messages", _post_message)
    app.router.add_post("/_workspace/actions", _post_action)
    app.router.add_post("/_workspace/submissions", _post_submission)
    app.router.add_post("/_workspace/closes", _post_close)
    app.router.add_post("/_workspace/response_urls/{token}", _post_response_url)
    return app


def is_loopback(url: str) -> bool:
    """Whether `url` names this machine: the workspace talks to nothing else."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the workspace for the app at `--bot-url` until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator.workspace",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=3000, help="port on 127.0.0.1 (default 3000)")
    parser.add_argument(
        "--bot-url", required=True, help="the app's Request URL, e.g. .../slack/events"
    )
    parser.add_argument(
        "--signing-secret",
        default=os.environ.get("SLACK_SIGNING_SECRET"),
        help="the secret to sign requests with (default: $SLACK_SIGNING_SECRET)",
    )
    parser.add_argument(
        "--bot-token",
        default=os.environ.get("SLACK_BOT_TOKEN") or DEFAULT_TOKEN,
        help=f"the token the Web API accepts (default: $SLACK_BOT_TOKEN or {DEFAULT_TOKEN})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=SLACK_TIMEOUT_SECONDS,
        help="seconds the app has to answer (Slack: 3)",
    )
    options = parser.parse_args(argv)
    if not options.signing_secret:
        parser.error("--signing-secret (or SLACK_SIGNING_SECRET) is required")
    if not is_loopback(options.bot_url):
        parser.error("--bot-url must be on this machine (127.0.0.1, localhost or [::1])")
    endpoint = AppEndpoint(options.bot_url, options.signing_secret, options.timeout)
    app = create_app(SlackWorkspace(token=options.bot_token), endpoint)
    url = f"http://127.0.0.1:{options.port}"
    print(f"Slack workspace: {url}", flush=True)
    print(f"Give the app SLACK_API_URL={url}/api/ and SLACK_BOT_TOKEN={options.bot_token}")
    web.run_app(app, host="127.0.0.1", port=options.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
