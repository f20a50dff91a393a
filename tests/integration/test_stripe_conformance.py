"""Every request paybot sends Stripe, checked against stripe-python's own typed parameters.

A recording proxy sits between the served app and the Stripe stand-in while the
modal and the hosted flows run end to end (a saved card, a decline, a card the
bank must confirm, Stripe's hosted page, a cancelled page). Afterwards every
recorded request must name only parameters the pinned API version has, carry
that version in `Stripe-Version`, and every create must carry paybot's own
idempotency key. The stand-in refuses unknown parameters too; the proxy also
proves the app never even sent one that a lenient server would have let pass.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import stripe
from aiohttp import web

from emulator.server import RunningServer, serve_in_thread
from emulator.stripe_api.params import unknown_params
from handlers.slack.blocks import CANCEL_PAYMENT
from tests.integration.harness import WEBHOOK_SECRET, Paybot, running_paybot
from tests.integration.test_hosted_flow import checkout_link, confirmations, fill_in_hosted_page
from tests.integration.test_slack_flow import GOOD_VISA, session_of

pytestmark = pytest.mark.integration

COLLECTIONS = {"/v1/payment_methods", "/v1/setup_intents", "/v1/customers", "/v1/checkout/sessions"}
"""POSTs to these create an object: each must carry an idempotency key of paybot's."""


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    version: str
    idempotency_key: str
    params: list[tuple[str, str]]


@dataclass
class RecordingProxy:
    """Forwards everything to `target` and keeps what was sent (in this test's memory only)."""

    target: str = ""
    sent: list[Sent] = field(default_factory=list)

    def app(self) -> web.Application:
        async def forward(request: web.Request) -> web.Response:
            body = await request.read()
            pairs = urllib.parse.parse_qsl(
                body.decode() if request.method == "POST" else request.query_string,
                keep_blank_values=True,
            )
            self.sent.append(
                Sent(
                    request.method,
                    request.path,
                    request.headers.get("Stripe-Version", ""),
                    request.headers.get("Idempotency-Key", ""),
                    pairs,
                )
            )
            headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
            async with (
                aiohttp.ClientSession() as session,
                session.request(
                    request.method,
                    f"{self.target}{request.path_qs}",
                    data=body,
                    headers=headers,
                    allow_redirects=False,
                ) as answer,
            ):
                content = await answer.read()
                kept = {"Content-Type", "Request-Id", "Idempotent-Replayed", "Stripe-Should-Retry"}
                out = {k: v for k, v in answer.headers.items() if k in kept}
                return web.Response(status=answer.status, body=content, headers=out)

        app = web.Application()
        app.router.add_route("*", "/v1/{tail:.*}", forward)
        return app


@pytest.fixture
def proxy() -> Iterator[tuple[RecordingProxy, RunningServer]]:
    recording = RecordingProxy()
    with serve_in_thread(recording.app()) as server:
        yield recording, server


@pytest.fixture
def paybot(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    proxy: tuple[RecordingProxy, RunningServer],
) -> Iterator[Paybot]:
    recording, server = proxy
    with running_paybot(
        tmp_path, monkeypatch, STRIPE_API_BASE=server.url, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET
    ) as running:
        recording.target = running.stripe_url
        yield running


def authenticate(paybot: Paybot, setup_id: str) -> None:
    request = urllib.request.Request(
        f"{paybot.stripe_url}/_emulator/setup_intents/{setup_id}/authenticate",
        data=json.dumps({"outcome": "complete"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


@pytest.fixture
def recorded(
    paybot: Paybot, proxy: tuple[RecordingProxy, RunningServer], tmp_path: Path
) -> list[Sent]:
    """What the app sent Stripe while every card flow ran once."""
    run_every_flow(paybot, tmp_path)
    return proxy[0].sent


def run_every_flow(paybot: Paybot, tmp_path: Path) -> None:
    # The modal: a card saved, a decline, and a card the bank must confirm.
    paybot.pay()
    assert paybot.submit(GOOD_VISA).json()["response_action"] == "update"
    paybot.pay()
    declined = paybot.submit({**GOOD_VISA, "number": "4000 0000 0000 0002"}).json()
    assert declined["response_action"] == "errors"
    paybot.submit({**GOOD_VISA, "number": "4000 0025 0000 3155"})
    saved = session_of(paybot, tmp_path)
    assert saved is not None
    assert saved.setup_id is not None
    authenticate(paybot, saved.setup_id)
    paybot.wait_until(lambda: len(confirmations(paybot)) == 2)
    # Stripe's hosted page: one completed, one cancelled (the app expires it).
    paybot.stripe.raw_card_data = False
    paybot.pay()
    paybot.submit(GOOD_VISA)
    fill_in_hosted_page(checkout_link(paybot))
    paybot.wait_until(lambda: len(confirmations(paybot)) == 3)
    paybot.pay()
    paybot.submit(GOOD_VISA)
    assert paybot.click(CANCEL_PAYMENT).status == 200


def test_every_request_to_stripe_names_only_parameters_the_pinned_api_version_has(
    recorded: list[Sent],
) -> None:
    paths = {(sent.method, sent.path.split("/")[2]) for sent in recorded}
    assert {
        ("POST", "payment_methods"),
        ("POST", "setup_intents"),
        ("GET", "setup_intents"),
    } <= paths
    assert {("POST", "checkout"), ("GET", "checkout"), ("GET", "customers")} <= paths
    unknown = {
        (sent.method, sent.path): found
        for sent in recorded
        if (found := unknown_params(sent.method, sent.path, sent.params, sent.version))
    }
    assert unknown == {}


def test_every_request_carries_the_pinned_stripe_version(recorded: list[Sent]) -> None:
    assert recorded
    assert {sent.version for sent in recorded} == {stripe.api_version}


def test_every_create_carries_paybots_own_idempotency_key(recorded: list[Sent]) -> None:
    creates = [s for s in recorded if s.method == "POST" and s.path in COLLECTIONS]
    assert {s.path for s in creates} == COLLECTIONS
    assert [s for s in creates if not s.idempotency_key.startswith("paybot-")] == []
