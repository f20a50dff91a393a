"""What both Teams stand-ins share in front of their routes: answers, faults, the request log.

Every request to a named route is timed and kept in an `emulator.control.RequestLog` (never
a secret: named form fields are redacted, and the Authorization header is not kept). A
queued `Fault` meets the next requests to its route (or to any, `"*"`): a delay, then an
HTTP status with the stand-in's error body, or a connection dropped without an answer.
The control routes (`/_emulator/*`) carry no route name, so they are neither logged nor
faulted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from emulator.control import Faults, RequestLog, json_object

JSON = dict[str, Any]
"""A JSON object as it travels on the wire."""
REDACTED = "[redacted]"
FAULTS_PATH = "/_emulator/faults"
DROPPED = 0
"""The status a request log entry shows when its connection was dropped unanswered."""


@dataclass(frozen=True)
class Answer:
    """What a stand-in answers: status, JSON body (None: an empty body), extra headers."""

    status: int
    body: JSON | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        if self.body is None:
            return web.Response(status=self.status, headers=self.headers)
        return web.json_response(self.body, status=self.status, headers=self.headers)


@dataclass(frozen=True)
class Fault:
    """What one upcoming request to `route` meets: a delay, then a status or a drop.

    `status` None with `drop` False only delays. `retry_after` sets Retry-After (seconds).
    """

    route: str = "*"
    status: int | None = 503
    drop: bool = False
    delay: float = 0.0
    retry_after: int | None = None

    def applies_to(self, route: str) -> bool:
        return self.route in ("*", route)

    def describe(self) -> str:
        """`delay=0.3s status=503`, or `drop`, for the request log."""
        parts = [f"delay={self.delay:g}s"] if self.delay else []
        if self.drop:
            parts.append("drop")
        elif self.status is not None:
            parts.append(f"status={self.status}")
        return " ".join(parts)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Fault:
        """A fault from `POST /_emulator/faults`'s JSON; ValueError when it is not one."""
        status = body.get("status", 503)
        retry_after = body.get("retry_after")
        if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
            raise ValueError("`status` must be an HTTP status code or null")
        if retry_after is not None and not isinstance(retry_after, int):
            raise ValueError("`retry_after` must be a whole number of seconds")
        return cls(
            route=str(body.get("route", "*")),
            status=status,
            drop=bool(body.get("drop", False)),
            delay=float(body.get("delay", 0.0)),
            retry_after=retry_after,
        )


@dataclass(frozen=True)
class Exchange:
    """One request as the log keeps it: no Authorization header, secrets redacted."""

    method: str
    path: str
    route: str
    status: int  # DROPPED (0): the connection was closed without an answer
    duration_ms: float
    body: Any  # the JSON or form fields the request carried; None when it had none
    fault: str | None = None

    def to_json(self) -> JSON:
        """A JSON-ready copy."""
        return dataclasses.asdict(self)


class Recorder:
    """The request log and the fault queue of one stand-in; thread-safe."""

    def __init__(self, *, redact: Collection[str] = ()) -> None:
        self.log: RequestLog[Exchange] = RequestLog()
        self.faults: Faults[Fault] = Faults()
        self._redact = frozenset(redact)

    def inject(self, fault: Fault, count: int | None = 1) -> None:
        """Queue `fault` for the next `count` requests to its route (None: every one)."""
        self.faults.add(fault, count)

    def reset(self) -> None:
        """Forget the log and every queued fault; subscribers stay."""
        self.log.clear()
        self.faults.clear()

    def loggable(self, raw: bytes, content_type: str) -> Any:
        """The request body as the log may keep it."""
        if not raw:
            return None
        text = raw.decode("utf-8", errors="replace")
        if content_type == "application/x-www-form-urlencoded":
            fields = dict(parse_qsl(text, keep_blank_values=True))
            return {k: REDACTED if k in self._redact else v for k, v in fields.items()}
        try:
            return json.loads(text)
        except ValueError:
            return text[:2000]


def recording_middleware(recorder: Recorder, error_body: Callable[[int], JSON]) -> Middleware:
    """Log and fault every request to a named route; `error_body(status)` answers a fault."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.name
        if route is None:
            return await handler(request)
        started = time.perf_counter()
        raw = await request.read()
        fault = recorder.faults.take(lambda queued: queued.applies_to(route))
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop:
            if request.transport is not None:
                request.transport.close()
            response: web.StreamResponse = web.Response(status=503)  # never delivered
            status = DROPPED
        elif fault is not None and fault.status is not None:
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            response = Answer(fault.status, error_body(fault.status), headers).response()
            status = fault.status
        else:
            response = await handler(request)
            status = response.status
        recorder.log.add(
            Exchange(
                method=request.method,
                path=request.path,
                route=route,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                body=recorder.loggable(raw, request.content_type),
                fault=fault.describe() if fault is not None else None,
            )
        )
        return response

    return middleware


def add_fault_routes(app: web.Application, recorder: Recorder) -> None:
    """`POST /_emulator/faults` (`{"route", "status", "drop", "delay", "retry_after",
    "count"}`) queues a fault; `DELETE /_emulator/faults` forgets them all."""

    async def post_fault(request: web.Request) -> web.Response:
        body = await json_object(request)
        try:
            fault = Fault.from_json(body)
        except (TypeError, ValueError) as refused:
            raise web.HTTPBadRequest(text=str(refused)) from None
        count = body.get("count", 1)
        if count is not None and not isinstance(count, int):
            raise web.HTTPBadRequest(text="`count`: a whole number, or null for every request")
        recorder.inject(fault, count)
        return web.json_response({"pending_faults": recorder.faults.pending})

    async def clear_faults(_: web.Request) -> web.Response:
        recorder.faults.clear()
        return web.json_response({"pending_faults": 0})

    app.router.add_post(FAULTS_PATH, post_fault)
    app.router.add_delete(FAULTS_PATH, clear_faults)
