"""What the page shows (the DM and its tabs, the modal stack, the inspector), pushed as
Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from emulator.workspace.masking import masked

INSPECTOR_LIMIT = 500

Json = dict[str, Any]


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

    def later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run `callback` on the server's loop `delay` seconds from now (from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.call_later, delay, callback)

    def close(self) -> None:
        for queue in self._queues:
            queue.put_nowait(None)

    def _fan_out(self, event: bytes) -> None:
        for queue in self._queues:
            queue.put_nowait(event)


def since_ms(started: float) -> float:
    """Milliseconds since `started` (a perf_counter reading), as the inspector shows them."""
    return round((time.perf_counter() - started) * 1000, 1)


def sse(kind: str, data: Any) -> bytes:
    """One Server-Sent Event."""
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Page:
    """What the browser shows: the DM, the modal stack and the inspector (thread-safe).

    The DM has Slack's app tabs: Messages (the messages, the app's suggested prompts above the
    composer, a status line under each thread the app is working in) and Home (the view the
    app published for the person). Every change is published as an idempotent event
    (`message`, `modal`, `inspector`, `tab`, `home`, `agent`), under the lock, so the stream's
    order is the order of the changes.
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
        self._tab = "messages"
        self._home: Json | None = None
        self._agent: Json = {"suggested_prompts": None, "statuses": {}}

    def snapshot(self) -> Json:
        with self._lock:
            return {
                "messages": list(self._messages.values()),
                "modal": self._modal(),
                "inspector": list(self._inspector.values()),
                "tab": self._tab,
                "home_view": self._home,
                **self._agent,
            }

    def show_tab(self, tab: str) -> None:
        """The app tab the person has open: "messages" or "home"."""
        with self._lock:
            self._tab = tab
            self._publish("tab", {"tab": tab})

    def show_home(self, view: Json | None) -> None:
        """The Home tab view the app published for the person."""
        with self._lock:
            self._home = view
            self._publish("home", {"view": view})

    def show_agent(self, suggested_prompts: Json | None, statuses: Mapping[str, Json]) -> None:
        """The app's suggested prompts for the DM, and its status line in each thread."""
        with self._lock:
            self._agent = {"suggested_prompts": suggested_prompts, "statuses": dict(statuses)}
            self._publish("agent", self._agent)

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
