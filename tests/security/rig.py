"""The product as it really runs, with every place it writes to opened up for inspection.

Two runtimes: the served app over real HTTP (`running_paybot`), and the Lambda entry
`handlers.aws_lambda.handler` fed API Gateway events, whose lazy listeners re-invoke the function
through a recording Invoke endpoint and are then run. Either on SQLite or on DynamoDB
(moto server). Around both: the Slack, Stripe and Bedrock emulators on loopback.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import sqlite3
import threading
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import handlers.aws_lambda
from bot.adapters.stripe_charges import StripeCharges
from bot.adapters.stripe_gateway import StripeGateway
from bot.logs import RedactingFormatter
from emulator import slack_requests
from emulator.bedrock_api import BedrockEmulator
from emulator.bedrock_api import create_app as bedrock_app
from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, SlackWorkspace
from emulator.slack_api import create_app as slack_app
from emulator.stripe_api import StripeEmulator
from emulator.stripe_api import create_app as stripe_app
from handlers.slack.blocks import CARD_FORM, PAY
from tests.integration.harness import MODEL_ID, SIGNING_SECRET, app_environment, running_paybot

LOGGERS = (
    "slack_bolt",
    "slack_sdk",
    "botocore",
    "boto3",
    "urllib3",
    "stripe",
    "microsoft_teams",
    "httpx",
    "httpcore",
    "bot",
    "handlers",
)
"""Every logger that may see a request, set to DEBUG for the sweep (and root with them)."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


class RecordedLogs(logging.Handler):
    """Keeps every record that reaches the root logger, formatted as plainly as possible.

    Not the app's redacting formatter: a traceback must be clean by itself, because any
    handler (a platform's, a crash reporter's) may format it.
    """

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.records: list[logging.LogRecord] = []
        self._formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [self._formatter.format(record) for record in list(self.records)]


@contextmanager
def logging_restored() -> Iterator[None]:
    """Put back the root handlers and every level that code inside may change."""
    root = logging.getLogger()
    handlers_before, levels = list(root.handlers), {}
    for name in ("", *LOGGERS):
        levels[name] = logging.getLogger(name).level
    try:
        yield
    finally:
        root.handlers[:] = handlers_before
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def everything_logged() -> Iterator[RecordedLogs]:
    """Every record of every logger at DEBUG, from here until the block ends."""
    recorded = RecordedLogs()
    with logging_restored():
        for name in ("", *LOGGERS):
            logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger().addHandler(recorded)
        yield recorded


@dataclass
class InvokeCapture:
    """Lambda's Invoke API on loopback: records every payload, runs nothing."""

    payloads: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        async def invoke(request: web.Request) -> web.Response:
            self.payloads.append(json.loads(await request.read()))
            return web.json_response({}, status=202)

        app = web.Application()
        app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
        return app

    def post(self, payload: Mapping[str, Any]) -> None:
        """Invoke as Bolt's lazy runner does (used to plant a control payload)."""
        request = urllib.request.Request(
            f"{self.url}/2015-03-31/functions/paybot/invocations",
            data=json.dumps(payload).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 202


@dataclass
class LambdaContext:
    function_name: str = "paybot-security-slack"
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:paybot-security-slack"
    )


@dataclass
class Store:
    """Where sessions live: a SQLite file, or a DynamoDB table on moto server."""

    kind: str
    sqlite_path: Path
    dynamodb: Any = None
    table: str = ""

    def settings(self) -> dict[str, str]:
        if self.kind == "dynamodb":
            return {"SESSION_STORE": "dynamodb", "SESSIONS_TABLE": self.table}
        return {"SESSION_STORE": "sqlite"}

    def contents(self) -> dict[str, object]:
        """Every row of every table, and the raw database and WAL bytes; or every item."""
        if self.kind == "dynamodb":
            tables = self.dynamodb.list_tables()["TableNames"]
            paginator = self.dynamodb.get_paginator("scan")
            return {
                "dynamodb items": {
                    name: [
                        item
                        for page in paginator.paginate(TableName=name)
                        for item in page["Items"]
                    ]
                    for name in tables
                }
            }
        if not self.sqlite_path.exists():
            return {"sqlite rows": {}, "sqlite files": b""}
        with sqlite3.connect(self.sqlite_path) as db:
            tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            rows = {
                name: db.execute(f'SELECT * FROM "{name}"').fetchall()  # noqa: S608 - its own names
                for (name,) in tables.fetchall()
            }
        files = sorted(self.sqlite_path.parent.glob(self.sqlite_path.name + "*"))
        return {"sqlite rows": rows, "sqlite files": b"".join(p.read_bytes() for p in files)}

    def plant(self, text: str) -> None:
        """Write `text` straight into the store, past the product (a positive control)."""
        if self.kind == "dynamodb":
            self.dynamodb.put_item(
                TableName=self.table,
                Item={"pk": {"S": "planted#control"}, "data": {"S": text}},
            )
            return
        with sqlite3.connect(self.sqlite_path) as db:
            db.execute("INSERT INTO events (event_id, expires_at) VALUES (?, 0)", (text,))


@dataclass
class Rig:
    """One running product, driven as Slack drives it, and everything it wrote."""

    runtime: str
    store: Store
    slack: SlackWorkspace
    stripe: StripeEmulator
    bedrock: BedrockEmulator
    deliver: Callable[[Rig, slack_requests.SlackRequest, dict[str, str]], Answer]
    invokes: InvokeCapture | None = None
    idempotency_keys: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    """Exceptions that escaped the Lambda entry, as the Lambda runtime would report them."""
    log_output: io.StringIO | None = None
    """What the Lambda container's own log handler wrote (CloudWatch, on AWS)."""
    base64_form_bodies: bool = False
    """On Lambda, deliver form bodies base64-encoded, as an API Gateway HTTP API does."""
    base64_all_bodies: bool = False
    """On Lambda, deliver every body base64-encoded (a REST API with binary media types)."""
    user_id: str = DEFAULT_USER_ID
    _lazy_done: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        def notify(_: object) -> None:
            with self._changed:
                self._changed.notify_all()

        self.slack.subscribe(notify)

    @property
    def name(self) -> str:
        return f"{self.runtime}/{self.store.kind}"

    @property
    def dm_channel(self) -> str:
        return self.slack.dm_channel(self.user_id)

    def send(
        self,
        request: slack_requests.SlackRequest,
        *,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
        lazy_replies: int = 0,
    ) -> Answer:
        """Deliver `request` signed with `secret`; wait for `lazy_replies` deferred DM replies."""
        before = len(self.bot_messages())
        answer = self.deliver(self, request, request.headers(secret, timestamp=timestamp))
        if self.invokes is not None:
            self._run_lazy_invocations()
        with self._changed:
            if not self._changed.wait_for(
                lambda: len(self.bot_messages()) >= before + lazy_replies, timeout=10
            ):
                raise AssertionError(f"no deferred reply within 10 s on {self.name}")
        return answer

    def _run_lazy_invocations(self) -> None:
        assert self.invokes is not None
        while self._lazy_done < len(self.invokes.payloads):
            payload = json.loads(json.dumps(self.invokes.payloads[self._lazy_done]))
            self._lazy_done += 1
            _lambda_call(payload, self.crashes)

    def bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(self.dm_channel) if m.get("bot_id")]

    def card_form(self) -> dict[str, Any]:
        forms = [v for v in self.slack.views(self.user_id) if v.get("callback_id") == CARD_FORM]
        assert forms, f"no card form was opened on {self.name}"
        return forms[-1]

    def offer_to_pay(self) -> dict[str, Any] | None:
        """The latest DM message with a live Pay button, if any."""
        for message in reversed(self.bot_messages()):
            for block in message.get("blocks") or []:
                if any(e.get("action_id") == PAY for e in block.get("elements") or []):
                    return message
        return None

    def trigger_id(self) -> str:
        return self.slack.issue_trigger_id(user_id=self.user_id)

    def sinks(self) -> dict[str, object]:
        """Everything the product wrote, by place, except logs and process output."""
        found: dict[str, object] = {
            "slack web api requests": [call.args for call in self.slack.calls],
            "bedrock requests": [record.body for record in self.bedrock.requests],
            "stripe idempotency keys": list(self.idempotency_keys),
            **self.store.contents(),
        }
        if self.invokes is not None:
            found["lambda lazy invokes"] = list(self.invokes.payloads)
            found["uncaught exceptions"] = list(self.crashes)
        if self.log_output is not None:
            found["lambda log output"] = self.log_output.getvalue().split("\n")
        return found


def _to_lambda(rig: Rig, request: slack_requests.SlackRequest, headers: dict[str, str]) -> Answer:
    form = request.content_type == slack_requests.FORM_TYPE
    encoded = rig.base64_all_bodies or (rig.base64_form_bodies and form)
    response = _lambda_call(http_api_event(request, headers, base64_body=encoded), rig.crashes)
    return Answer(int(response.get("statusCode", 0)), str(response.get("body", "")))


def _lambda_call(event: dict[str, Any], crashes: list[str]) -> dict[str, Any]:
    try:
        return handlers.aws_lambda.handler(event, LambdaContext())
    except Exception as exc:  # the Lambda runtime logs it and answers 502
        crashes.append("".join(traceback.format_exception(exc)))
        return {"statusCode": 502, "body": ""}


def http_api_event(
    request: slack_requests.SlackRequest, headers: Mapping[str, str], *, base64_body: bool = False
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event carrying the Slack request."""
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {"http": {"method": "POST", "path": "/slack/events"}},
        "body": base64.b64encode(request.body).decode() if base64_body else request.body.decode(),
        "isBase64Encoded": base64_body,
    }


def _tap_idempotency_keys(monkeypatch: pytest.MonkeyPatch, keys: list[str]) -> None:
    """Record each idempotency key as it leaves for Stripe (the emulator's log masks them)."""
    save_card = StripeGateway.save_card

    def tapped(self: StripeGateway, card: Any, **request: Any) -> Any:
        keys.append(request["idempotency_key"])
        return save_card(self, card, **request)

    monkeypatch.setattr(StripeGateway, "save_card", tapped)
    charge = StripeCharges.charge

    def tapped_charge(self: StripeCharges, pending: Any, **request: Any) -> Any:
        keys.append(request["idempotency_key"])
        return charge(self, pending, **request)

    monkeypatch.setattr(StripeCharges, "charge", tapped_charge)


BEDROCK = {
    "DIALOGUE_ENGINE": "bedrock",
    "BEDROCK_MODEL_ID": MODEL_ID,
    # Every injected card takes the whole path to Stripe, past the card-testing limits.
    "LIMIT_CARD_SUBMISSIONS_PER_HOUR": "1000",
    "LIMIT_WORKSPACE_CARD_SUBMISSIONS_PER_HOUR": "100000",
    "LIMIT_CARD_PAGES_PER_HOUR": "1000",
    "LIMIT_WORKSPACE_CARD_PAGES_PER_HOUR": "100000",
    "LIMIT_TURNS_PER_HOUR": "100000",
    "LIMIT_WORKSPACE_TURNS_PER_HOUR": "1000000",
    "LIMIT_CHARGES_PER_HOUR": "1000",
    "LIMIT_WORKSPACE_CHARGES_PER_HOUR": "100000",
    # Cards are saved and then charged on Pay: the save path is a part of the charge path,
    # and the payment's own sinks (receipts, the audit trail, the PaymentIntent's
    # idempotency key) are swept with it.
    "PAYMENT_MODE": "charge",
    "STRIPE_WEBHOOK_SECRET": "whsec_paybot_security",
}


@contextmanager
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store, **settings: str
) -> Iterator[Rig]:
    """The served app (`python -m bot serve`) with the Bedrock engine."""
    environment = {**BEDROCK, **store.settings(), **settings}
    with running_paybot(tmp_path, monkeypatch, **environment) as paybot:
        rig = Rig(
            "served",
            store,
            paybot.slack,
            paybot.stripe,
            paybot.bedrock,
            deliver=lambda _, request, headers: post(paybot.url, request.body, headers),
        )
        _tap_idempotency_keys(monkeypatch, rig.idempotency_keys)
        yield rig


def post(url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
    """POST `body` to the served app's Slack endpoint with exactly these headers."""
    http = urllib.request.Request(
        f"{url}/slack/events", data=body, headers=dict(headers), method="POST"
    )
    try:
        with urllib.request.urlopen(http, timeout=15) as answer:
            return Answer(answer.status, answer.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode())


@contextmanager
def on_lambda(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: Store, **settings: str
) -> Iterator[Rig]:
    """`handlers.aws_lambda.handler` in a cold container, lazy work re-invoked through Invoke."""
    workspace, stripe, bedrock, invokes = (
        SlackWorkspace(),
        StripeEmulator(),
        BedrockEmulator(),
        InvokeCapture(),
    )
    with (
        serve_in_thread(slack_app(workspace)) as slack_server,
        serve_in_thread(stripe_app(stripe)) as stripe_server,
        serve_in_thread(bedrock_app(bedrock)) as bedrock_server,
        serve_in_thread(invokes.app()) as lambda_server,
        logging_restored(),  # the container configures root logging for Lambda
    ):
        invokes.url = lambda_server.url
        environment = app_environment(
            slack_url=slack_server.url,
            stripe_url=stripe_server.url,
            sqlite_path=store.sqlite_path,
            AWS_ENDPOINT_URL_LAMBDA=lambda_server.url,
            AWS_ENDPOINT_URL_BEDROCK_RUNTIME=bedrock_server.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            **{**BEDROCK, **store.settings(), **settings},
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(handlers.aws_lambda, "_container", None)
        rig = Rig("lambda", store, workspace, stripe, bedrock, _to_lambda, invokes)
        _tap_idempotency_keys(monkeypatch, rig.idempotency_keys)
        handlers.aws_lambda._current()  # cold start now, so logging set up after it stays set up
        rig.log_output = io.StringIO()
        for handler in logging.getLogger().handlers:  # the container's own: it redacts
            if isinstance(handler.formatter, RedactingFormatter):
                assert isinstance(handler, logging.StreamHandler)
                handler.setStream(rig.log_output)
        yield rig


RUNTIMES: Mapping[str, Callable[..., Any]] = {"served": served, "lambda": on_lambda}
COMBINATIONS: Sequence[tuple[str, str]] = (
    ("served", "sqlite"),
    ("served", "dynamodb"),
    ("lambda", "sqlite"),
    ("lambda", "dynamodb"),
)
