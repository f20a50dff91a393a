"""Warm ack latency per Slack surface: our own time, without the time spent waiting on others.

One user at a time goes round DM -> "Enter card securely" -> modal submit -> `/pay`,
each request signed as Slack signs it and sent over HTTP to the app served in
this process; DynamoDB is moto server, Slack, Stripe and Bedrock are the
emulators. For every request:

    overhead = HTTP round trip - time on the wire to the emulators and moto
               - median HTTP round trip to `GET /health` (same run, interleaved)

The wire time is measured inside the app's process at the transport layer
(`bench.outbound`). The DM's answer is written by a lazy listener after the
ack; its whole turn is reported too, for scale, but the target is the ack's.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from bench import loopback, traced
from bench.loopback import Emulators
from emulator import driver
from emulator.slack_requests import SlackRequest
from handlers.slack.blocks import CARD_FORM, OPEN_CARD_FORM

TARGET_P99_MS = 15.0
SURFACES = ("DM event", "/pay", "button click", "modal submit")
DM_TURN = "DM event, whole turn"
USERS = 25
RESET_EVERY = 100  # iterations; keeps the emulators' logs (and this process's heap) small


@dataclass(frozen=True)
class SurfaceLatency:
    surface: str
    requests: int
    p50_ms: float
    p99_ms: float
    inside_p50_ms: float
    """The same, timed inside the WSGI app (no HTTP at all): a cross-check."""
    inside_p99_ms: float
    total_p50_ms: float
    """The HTTP round trip as Slack would see it, emulator time included."""
    wait_p50_ms: float


@dataclass(frozen=True)
class AckLatency:
    health_p50_ms: float
    health_p99_ms: float
    surfaces: tuple[SurfaceLatency, ...]

    def worst_ack_p99_ms(self) -> float:
        return max(s.p99_ms for s in self.surfaces if s.surface != DM_TURN)


@dataclass
class _Samples:
    total: list[float]
    wait: list[float]
    inside: list[float]

    def summary(self, surface: str, baseline: float) -> SurfaceLatency:
        overhead = [t - w - baseline for t, w in zip(self.total, self.wait, strict=True)]
        return SurfaceLatency(
            surface=surface,
            requests=len(self.total),
            p50_ms=_ms(_p(overhead, 50)),
            p99_ms=_ms(_p(overhead, 99)),
            inside_p50_ms=_ms(_p(self.inside, 50)),
            inside_p99_ms=_ms(_p(self.inside, 99)),
            total_p50_ms=_ms(_p(self.total, 50)),
            wait_p50_ms=_ms(_p(self.wait, 50)),
        )


def _p(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def _ms(seconds: float) -> float:
    return seconds * 1000


@contextmanager
def running() -> Iterator[tuple[Emulators, traced.TracedApp]]:
    """Moto server, the emulators and the traced app, on loopback."""
    with ExitStack() as stack:
        dynamodb_url = stack.enter_context(loopback.moto_server())
        loopback.create_sessions_table(dynamodb_url)
        emulated = stack.enter_context(loopback.emulators())
        app = stack.enter_context(traced.served(loopback.app_environment(emulated, dynamodb_url)))
        yield emulated, app


class _Round:
    """Sends one request at a time and keeps what each cost, per surface."""

    def __init__(self, emulated: Emulators, app: traced.TracedApp) -> None:
        self.emulated, self.app = emulated, app
        self.samples = {name: _Samples([], [], []) for name in (*SURFACES, DM_TURN)}
        self.health: list[float] = []
        self.record = False
        self._ids = itertools.count()

    def _health(self) -> None:
        started = time.perf_counter()
        loopback.health(self.app.url)
        if self.record:
            self.health.append(time.perf_counter() - started)

    def send(self, surface: str, request: SlackRequest) -> bytes:
        self._health()
        trace_id = str(next(self._ids))
        started = time.perf_counter()
        status, body = loopback.send(self.app.url, request, trace_id=trace_id)
        total = time.perf_counter() - started
        if status != 200:
            raise RuntimeError(f"{surface} answered HTTP {status}")
        trace = self.app.trace(trace_id)
        if self.record:
            ack = self.samples[surface]
            ack.total.append(total)
            ack.wait.append(trace.ack.wait)
            ack.inside.append(trace.acked - trace.entered - trace.ack.wait)
            if trace.lazy.calls:
                turn = self.samples[DM_TURN]
                turn.total.append(trace.finished - started)
                turn.wait.append(trace.ack.wait + trace.lazy.wait)
                turn.inside.append(
                    trace.finished - trace.entered - trace.ack.wait - trace.lazy.wait
                )
        return body

    def iteration(self, user_id: str) -> None:
        slack = self.emulated.slack
        self.send("DM event", driver.dm(slack, user_id, loopback.ASK_TO_PAY))
        offer = slack.messages(slack.dm_channel(user_id))[-1]
        self.send("button click", driver.click(slack, user_id, offer, OPEN_CARD_FORM))
        form = _last_form(self.emulated, user_id)
        answer = self.send("modal submit", driver.submit(user_id, form, loopback.CARD))
        if b"Card saved" not in answer:
            raise RuntimeError("the modal submission did not save the card")
        self.send("/pay", driver.pay(slack, user_id, "45 USD INV-1001"))


def _last_form(emulated: Emulators, user_id: str) -> dict[str, object]:
    forms = [v for v in emulated.slack.views(user_id) if v.get("callback_id") == CARD_FORM]
    return forms[-1]


def measure(
    iterations: int = 1000, warmup: int = 50, progress: Callable[[str], None] = print
) -> AckLatency:
    """`iterations` requests per surface after `warmup` unrecorded rounds."""
    with running() as (emulated, app):
        users = loopback.add_users(emulated.slack, USERS)
        round_ = _Round(emulated, app)
        for n in range(warmup + iterations):
            if n % RESET_EVERY == 0:
                emulated.reset()
            round_.record = n >= warmup
            round_.iteration(users[n % len(users)])
            if n and n % 250 == 0:
                progress(f"  ack latency: {n}/{warmup + iterations} rounds")
    baseline = statistics.median(round_.health)
    return AckLatency(
        health_p50_ms=_ms(baseline),
        health_p99_ms=_ms(_p(round_.health, 99)),
        surfaces=tuple(
            round_.samples[name].summary(name, baseline) for name in (*SURFACES, DM_TURN)
        ),
    )


if __name__ == "__main__":
    result = measure()
    print(f"GET /health round trip: p50 {result.health_p50_ms:.2f} ms")
    for row in result.surfaces:
        print(
            f"{row.surface:24} n={row.requests} overhead p50 {row.p50_ms:.2f} ms "
            f"p99 {row.p99_ms:.2f} ms (inside the app p50 {row.inside_p50_ms:.2f} "
            f"p99 {row.inside_p99_ms:.2f}; total p50 {row.total_p50_ms:.2f}, "
            f"waiting p50 {row.wait_p50_ms:.2f})"
        )
