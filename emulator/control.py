"""What every stand-in shares, as moto's `moto/core` does: the request log, faults queued
for upcoming requests, and the `/_emulator/requests` and `/_emulator/reset` routes.

Each stand-in keeps its own record and fault types (a Slack call, a Stripe request, a
Converse request) and its own fault endpoint; the bookkeeping around them lives here once,
as does reading a control request's JSON body (`json_object`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from aiohttp import web

log = logging.getLogger(__name__)

Entry = TypeVar("Entry")
Fault = TypeVar("Fault")

REQUESTS_PATH = "/_emulator/requests"
RESET_PATH = "/_emulator/reset"


class RequestLog(Generic[Entry]):
    """Every request a stand-in answered, oldest first; thread-safe.

    Subscribers hear of each entry as it is added, on the adding thread; one that fails is
    logged and the others still hear.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._subscribers: list[Callable[[Entry], None]] = []

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(entry)
            except Exception:
                log.exception("a request log subscriber failed")

    @property
    def entries(self) -> list[Entry]:
        """A copy of the log, oldest first."""
        with self._lock:
            return list(self._entries)

    def subscribe(self, callback: Callable[[Entry], None]) -> Callable[[], None]:
        """Call `callback` after each entry is added; returns the unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def clear(self) -> None:
        """Forget every entry; subscribers stay."""
        with self._lock:
            self._entries.clear()


class Faults(Generic[Fault]):
    """Faults waiting for upcoming requests, in the order they were queued; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: list[tuple[Fault, int | None]] = []

    def add(self, fault: Fault, count: int | None = 1) -> None:
        """Queue `fault` for the next `count` requests it applies to (None: every one)."""
        if count is not None and count < 1:
            return
        with self._lock:
            self._queued.append((fault, count))

    def take(self, applies: Callable[[Fault], bool]) -> Fault | None:
        """The first queued fault that `applies` to this request, counted as met; else None."""
        with self._lock:
            for index, (fault, count) in enumerate(self._queued):
                if applies(fault):
                    if count is not None:
                        if count == 1:
                            del self._queued[index]
                        else:
                            self._queued[index] = (fault, count - 1)
                    return fault
        return None

    @property
    def pending(self) -> int:
        """How many upcoming requests a counted fault still waits for."""
        with self._lock:
            return sum(count for _, count in self._queued if count is not None)

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()


def add_control_routes(
    app: web.Application,
    *,
    requests: Callable[[], object],
    reset: Callable[[], None],
    reset_answer: object,
    older_requests_paths: tuple[str, ...] = (),
) -> None:
    """`GET /_emulator/requests` (the JSON `requests()` gives) and `POST /_emulator/reset`.

    `older_requests_paths`: names the request log had before, still answered the same.
    """

    async def list_requests(_: web.Request) -> web.Response:
        return web.json_response(requests())

    async def reset_all(_: web.Request) -> web.Response:
        reset()
        return web.json_response(reset_answer)

    for path in (REQUESTS_PATH, *older_requests_paths):
        app.router.add_get(path, list_requests)
    app.router.add_post(RESET_PATH, reset_all)


async def json_object(request: web.Request) -> dict[str, Any]:
    """A control request's JSON object body ({} when it has none); 400 when it is not one."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body
