"""What the Stripe stand-in's tests share: a webhook endpoint, a hand-moved clock, and plain
HTTP to the pages and control endpoints (neither is reachable through the SDK)."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from emulator.server import RunningServer


@dataclass
class Receiver:
    """A webhook endpoint that records what it is sent and answers `statuses` in turn.

    It also serves `/return`, a page that records the query it was opened with: a
    SetupIntent's `return_url`.
    """

    statuses: deque[int] = field(default_factory=deque)
    received: list[tuple[str, str]] = field(default_factory=list)  # (payload, signature)
    returns: list[dict[str, str]] = field(default_factory=list)  # queries of /return
    hold: threading.Event | None = None  # when set up, answers only once it is set ...
    stalled: int = 0  # ... or after 5 s, counted here

    def app(self) -> web.Application:
        async def webhook(request: web.Request) -> web.Response:
            payload = await request.text()
            self.received.append((payload, request.headers.get("Stripe-Signature", "")))
            if self.hold is not None:
                loop = asyncio.get_running_loop()
                if not await loop.run_in_executor(None, self.hold.wait, 5):
                    self.stalled += 1
            return web.Response(status=self.statuses.popleft() if self.statuses else 200)

        async def returned(request: web.Request) -> web.Response:
            self.returns.append(dict(request.query))
            return web.Response(text="back on the merchant's site")

        app = web.Application()
        app.router.add_post("/stripe/webhook", webhook)
        app.router.add_get("/return", returned)
        return app

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(payload) for payload, _ in self.received]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Page:
    status: int
    headers: dict[str, str]
    body: str


def page(server: RunningServer, method: str, path: str, form: dict[str, str] | None = None) -> Page:
    """One request to a page of the stand-in, redirects not followed (a browser's first hop)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    body = None if form is None else urllib.parse.urlencode(form)
    headers = {} if form is None else {"Content-Type": "application/x-www-form-urlencoded"}
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return Page(answer.status, dict(answer.getheaders()), answer.read().decode())
    finally:
        connection.close()


def control(server: RunningServer, method: str, path: str, body: Any = None) -> Any:
    """Call a control endpoint; an error status answers its JSON too."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return json.load(exc)


def raw_post(
    server: RunningServer,
    path: str,
    form: list[tuple[str, str]],
    *,
    api_key: str,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """A form-encoded API call without the SDK: (status, JSON body)."""
    request = urllib.request.Request(
        server.url + path, data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    request.add_header("Authorization", f"Bearer {api_key}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc)
