"""Drives the workspace page's endpoints as the browser does, and a stand-in app to point it at.

Shared by the workspace tests: `serve_workspace` serves the page for an app's Request URL,
`Workspace` posts what the person does and reads what the page shows, `Recorder` is an app
that keeps every request Slack sends it.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk import WebClient

from emulator.server import RunningServer, serve_in_thread
from emulator.slack_api import DEFAULT_TOKEN, DEFAULT_USER_ID, SlackWorkspace
from emulator.workspace import UI, AppEndpoint, WorkspaceUI, create_app
from tests.integration.harness import SIGNING_SECRET


@dataclass
class Answer:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def http(url: str, body: Any = None, *, content_type: str = "application/json") -> Answer:
    data = (
        None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    method = "GET" if data is None else "POST"
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return Answer(answer.status, answer.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode())


@dataclass
class Workspace:
    """Drives the page's endpoints as the browser does, and reads what the page would show."""

    url: str
    slack: SlackWorkspace
    ui: WorkspaceUI
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        def notify(_: object) -> None:
            with self._changed:
                self._changed.notify_all()

        self.slack.subscribe(notify)  # after the page's own subscriber: it has updated by then

    @property
    def app(self) -> WebClient:
        """The Web API as an app sees it."""
        return WebClient(token=self.slack.token, base_url=f"{self.url}/api/")

    def say(self, text: str) -> Answer:
        return http(f"{self.url}/_workspace/messages", {"text": text})

    def press(self, message: dict[str, Any], index: int = 0) -> Answer:
        block = next(b for b in message["blocks"] if b["type"] == "actions")
        body = {"message_id": message["id"], "block_id": block["block_id"], "index": index}
        return http(f"{self.url}/_workspace/actions", body)

    def submit(self, values: dict[str, str]) -> Answer:
        view = self.modal()["view"]
        typed = {block_id: {block_id: text} for block_id, text in values.items()}
        return http(f"{self.url}/_workspace/submissions", {"view_id": view["id"], "values": typed})

    def close(self) -> Answer:
        view = self.modal()["view"]
        return http(f"{self.url}/_workspace/closes", {"view_id": view["id"]})

    def open_tab(self, tab: str) -> Answer:
        return http(f"{self.url}/_workspace/tabs", {"tab": tab})

    def press_home(self, index: int = 0) -> Answer:
        """Press button `index` of the first actions block in the Home tab."""
        view = self.state()["home_view"]
        block = next(b for b in view["blocks"] if b["type"] == "actions")
        body = {"view_id": view["id"], "block_id": block["block_id"], "index": index}
        return http(f"{self.url}/_workspace/actions", body)

    def click_prompt(self, index: int) -> Answer:
        return http(f"{self.url}/_workspace/prompts", {"index": index})

    def state(self) -> dict[str, Any]:
        answer = http(f"{self.url}/_workspace/state")
        assert answer.status == 200
        return dict(answer.json())

    def messages(self) -> list[dict[str, Any]]:
        return list(self.ui.snapshot()["messages"])

    def modal(self) -> dict[str, Any]:
        return dict(self.ui.snapshot()["modal"])

    def inspector(self) -> list[dict[str, Any]]:
        return list(self.ui.snapshot()["inspector"])

    def open_modal(self, view: dict[str, Any]) -> dict[str, Any]:
        """The app opens `view` as if answering an interaction by the person."""
        trigger_id = self.slack.issue_trigger_id(user_id=DEFAULT_USER_ID)
        return dict(self.app.views_open(trigger_id=trigger_id, view=view)["view"])

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Block until `condition()` holds after some Web API call, or fail after `timeout`."""
        with self._changed:
            if not self._changed.wait_for(condition, timeout=timeout):
                raise AssertionError("the page did not show what was expected in time")

    def wait_for_app_messages(self, count: int) -> list[dict[str, Any]]:
        def app_messages() -> list[dict[str, Any]]:
            return [m for m in self.messages() if m["author"] == "app"]

        self.wait_until(lambda: len(app_messages()) >= count)
        return app_messages()


def serve_workspace(
    app_url: str, secret: str = SIGNING_SECRET, **options: Any
) -> tuple[RunningServer, Workspace]:
    """The page for the app at `app_url`; `options` go to its `SlackWorkspace`."""
    slack = SlackWorkspace(token=DEFAULT_TOKEN, **options)
    app = create_app(slack, AppEndpoint(app_url, secret))
    server = serve_in_thread(app)
    return server, Workspace(server.url, slack, app[UI])


@dataclass
class Recorder:
    """A stand-in app: keeps every request it gets and answers with what it is told."""

    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[web.Response] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        return self.answers.pop(0) if self.answers else web.Response()

    def payload(self, index: int = -1) -> dict[str, Any]:
        """An interactivity request's decoded `payload`."""
        form = parse_qs(self.requests[index][1].decode())
        return dict(json.loads(form["payload"][0]))


@contextmanager
def recording_app() -> Iterator[Recorder]:
    """A `Recorder` served on loopback at its `url`."""
    recording = Recorder()
    app = web.Application()
    app.router.add_post("/slack/events", recording.handle)
    with serve_in_thread(app) as server:
        recording.url = f"{server.url}/slack/events"
        yield recording
