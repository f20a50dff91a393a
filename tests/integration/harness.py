"""The served app with emulated Slack, Stripe and Bedrock around it, and a driver for it.

Everything goes over real HTTP on loopback: signed Slack requests into the
app, real SDK calls out of it into the emulators.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.settings import load_settings
from emulator import driver, slack_requests
from emulator.bedrock_api import BedrockEmulator
from emulator.bedrock_api import create_app as bedrock_app
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, GENERAL_CHANNEL_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from emulator.stack import SIGNING_SECRET, app_environment
from emulator.stack import STRIPE_KEY as STRIPE_KEY  # the tests take it from here
from emulator.stripe_api import StripeEmulator
from emulator.stripe_api import create_app as stripe_app
from handlers.bootstrap import build
from handlers.server import make
from handlers.slack.blocks import CARD_FORM

WEBHOOK_SECRET = "whsec_paybot_test"
MODEL_ID = "us.amazon.nova-2-lite-v1:0"
QUIET_SECONDS = 1.0
"""How long the app must leave Slack alone before it counts as done answering."""


@dataclass
class Response:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Paybot:
    """A driver that acts as Slack towards the app, and sees what the app did."""

    url: str
    slack: SlackWorkspace
    stripe: StripeEmulator
    bedrock: BedrockEmulator
    user_id: str = DEFAULT_USER_ID
    stripe_url: str = ""
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        def notify(_: object) -> None:
            with self._changed:
                self._changed.notify_all()

        self.slack.subscribe(notify)

    @property
    def dm_channel(self) -> str:
        return self.slack.dm_channel(self.user_id)

    def send(
        self,
        request: slack_requests.SlackRequest,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        retry_num: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        sent = dict(request.headers(secret, timestamp=timestamp, retry_num=retry_num))
        sent.update(headers or {})
        http = urllib.request.Request(
            f"{self.url}/slack/events", data=request.body, headers=sent, method="POST"
        )
        try:
            with urllib.request.urlopen(http, timeout=10) as answer:
                return Response(answer.status, answer.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.read().decode())

    def dm(self, text: str, **options: Any) -> Response:
        request = driver.dm(self.slack, self.user_id, text, event_id=options.pop("event_id", None))
        return self.send(request, **options)

    def pay(self, text: str = "", channel_id: str = GENERAL_CHANNEL_ID) -> Response:
        return self.send(driver.pay(self.slack, self.user_id, text, channel_id=channel_id))

    def click(self, action_id: str, message: dict[str, Any] | None = None) -> Response:
        message = message or self.last_bot_message()
        return self.send(driver.click(self.slack, self.user_id, message, action_id))

    def submit(self, values: Mapping[str, str], view: dict[str, Any] | None = None) -> Response:
        return self.send(driver.submit(self.user_id, view or self.card_form(), values))

    def bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(self.dm_channel) if m.get("bot_id")]

    def now_as(self, message: dict[str, Any]) -> dict[str, Any]:
        """`message` as the DM shows it now, after any `chat.update`."""
        return next(m for m in self.bot_messages() if m["ts"] == message["ts"])

    def last_bot_message(self) -> dict[str, Any]:
        messages = self.bot_messages()
        assert messages, "the bot has said nothing in the DM"
        return messages[-1]

    def card_form(self) -> dict[str, Any]:
        forms = [v for v in self.slack.views(self.user_id) if v.get("callback_id") == CARD_FORM]
        assert forms, "no card form was opened"
        return forms[-1]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Block until `condition()` holds after some Web API call, or fail after `timeout`."""
        with self._changed:
            if not self._changed.wait_for(condition, timeout=timeout):
                raise AssertionError("the app did not do what was expected in time")

    def wait_for_bot_messages(self, count: int) -> list[dict[str, Any]]:
        self.wait_until(lambda: len(self.bot_messages()) >= count)
        return self.bot_messages()

    def wait_for_quiet(self, quiet: float = QUIET_SECONDS, timeout: float = 30.0) -> None:
        """Block until no Web API call has come for `quiet` s, so that a check that a reply
        did *not* happen is not made while that reply is still on its way."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._changed.wait(timeout=quiet):  # True: another call came in
                if time.monotonic() > deadline:
                    raise AssertionError(f"the app was still calling Slack after {timeout} s")


@contextmanager
def running_paybot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: str
) -> Iterator[Paybot]:
    """The whole system on loopback: emulators first, then the app pointed at them."""
    workspace, bedrock = SlackWorkspace(), BedrockEmulator()
    stripe = StripeEmulator(webhook_secret=WEBHOOK_SECRET, webhook_retry_delay=0)
    with (
        serve_in_thread(slack_app(workspace)) as slack_server,
        serve_in_thread(stripe_app(stripe)) as stripe_server,
        serve_in_thread(bedrock_app(bedrock)) as bedrock_server,
    ):
        environment = app_environment(
            slack_url=slack_server.url,
            stripe_url=stripe_server.url,
            sqlite_path=tmp_path / "sessions.db",
            **overrides,
        )
        # boto3 reads its endpoint and credentials from the process environment.
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", bedrock_server.url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        wiring = build(load_settings(environment))
        server = make(wiring, port=0)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        stripe.webhook_url = f"http://127.0.0.1:{server.server_port}/stripe/webhook"
        try:
            yield Paybot(
                f"http://127.0.0.1:{server.server_port}",
                workspace,
                stripe,
                bedrock,
                stripe_url=stripe_server.url,
            )
        finally:
            server.shutdown()
            server.server_close()
