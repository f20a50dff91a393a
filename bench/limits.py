"""What the abuse limits cost a request: DynamoDB requests and the latency they add.

A limited request (a model turn, a card submission) takes from two buckets, the
person's and the workspace's (`bot.limits`): two conditional UpdateItems on the
sessions table. Measured on moto server over loopback, interleaved with the baseline
every request already pays, one consistent GetItem of the person's session: the ratio
of their p99s is the figure (loopback and moto are not DynamoDB; the shape holds).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import boto3
from botocore.config import Config

from bench.loopback import AWS_CREDENTIALS, TABLE, create_sessions_table, moto_server
from bot.adapters.dynamodb_limits import DynamoRateLimiter
from bot.adapters.dynamodb_store import DynamoSessionStore
from bot.limits import Rate
from bot.models import ChatUser

ROUNDS = 400
PEOPLE = 50
"""Requests come from this many people in one workspace: each person's bucket is taken
from every 50th request, the workspace's on every one (its hot item)."""


@dataclass(frozen=True)
class LimiterCost:
    rounds: int
    requests: float
    """DynamoDB requests per limited request, counted: the mean, and the most."""
    most: int
    baseline_p50_ms: float
    baseline_p99_ms: float
    limiter_p50_ms: float
    limiter_p99_ms: float

    @property
    def ratio(self) -> float:
        return self.limiter_p99_ms / self.baseline_p99_ms


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def measure(rounds: int = ROUNDS) -> LimiterCost:
    with moto_server() as url:
        create_sessions_table(url)
        client = boto3.client(
            "dynamodb",
            endpoint_url=url,
            region_name=AWS_CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=AWS_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(retries={"mode": "standard"}),
        )
        sent: list[str] = []

        def count(request: object, **_: object) -> None:
            sent.append(str(getattr(request, "url", "")))

        client.meta.events.register("before-send.dynamodb.*", count)
        store = DynamoSessionStore(TABLE, client=client)
        limiter = DynamoRateLimiter(TABLE, client=client)
        # Buckets never emptied here (the figure is the cost of allowed requests), each
        # token worth whole seconds, as every real budget's is (5 an hour: 720 s).
        roomy = Rate(10**5, 10**7)

        def limited(person: int) -> None:
            user = ChatUser(surface="slack", tenant_id="T0BENCH", user_id=f"U{person:05d}")
            limiter.take(f"cards#{user.key}", roomy)
            limiter.take(f"cards#{user.surface}#{user.scope}", roomy)

        def baseline(person: int) -> None:
            store.get(ChatUser(surface="slack", tenant_id="T0BENCH", user_id=f"U{person:05d}"))

        timings: dict[str, list[float]] = {"baseline": [], "limiter": []}
        for warm in range(PEOPLE):  # every person's bucket exists; connections are open
            limited(warm)
            baseline(warm)
        steady: list[int] = []
        for n in range(rounds):
            for name, call in (("baseline", baseline), ("limiter", limited)):
                before = len(sent)
                started = time.perf_counter()
                call(n % PEOPLE)
                timings[name].append((time.perf_counter() - started) * 1000)
                if name == "limiter":
                    steady.append(len(sent) - before)
    requests = statistics.mean(steady)
    base, lim = timings["baseline"], timings["limiter"]
    return LimiterCost(
        rounds=rounds,
        requests=requests,
        most=max(steady),
        baseline_p50_ms=statistics.median(base),
        baseline_p99_ms=_p99(base),
        limiter_p50_ms=statistics.median(lim),
        limiter_p99_ms=_p99(lim),
    )


def section(cost: LimiterCost, verdict: Callable[[bool], str]) -> str:
    met = cost.most <= 2
    return f"""## Abuse limits: what a limited request pays

A model turn or a card submission takes from two token buckets, the person's and the
workspace's (`bot.limits`, GCRA: one number per bucket), each one conditional UpdateItem
on the sessions table; the guess of which of the two update forms applies comes from
what this process last saw, so a wrong guess (a bucket idle for its whole window) costs a
second write. {cost.rounds} limited requests from {PEOPLE} people in one workspace,
interleaved with the read every request already makes (a consistent GetItem of the
session), on moto server over loopback.

| | DynamoDB requests (mean, most) | p50 | p99 |
|---|---|---|---|
| baseline: the session's GetItem | 1, 1 | {cost.baseline_p50_ms:.2f} ms \
| {cost.baseline_p99_ms:.2f} ms |
| the two takes | {cost.requests:.2f}, {cost.most} | {cost.limiter_p50_ms:.2f} ms \
| {cost.limiter_p99_ms:.2f} ms |

The takes add {cost.ratio:.2f}x the p99 of a session read ({cost.limiter_p99_ms:.2f} ms
here). Target: at most 2 DynamoDB requests per limited request: {verdict(met)}. Only
limited requests pay it: a model turn (with `DIALOGUE_ENGINE=bedrock`; it runs after
Slack's ack, before the model call), a card submission (inside the modal's ack, after
its claim), a hosted page's creation; buttons, commands and rule-engine turns pay nothing.

Reproduce: `python -m bench.limits`.
"""


if __name__ == "__main__":
    print(section(measure(), lambda met: "met" if met else "**missed**"))
