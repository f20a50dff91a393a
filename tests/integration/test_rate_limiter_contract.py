"""The RateLimiter contract (`bot.limits`' buckets), held by the SQLite and DynamoDB adapters."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.adapters.dynamodb_limits import LIMIT_KEY_PREFIX, TAT_ATTRIBUTE, DynamoRateLimiter
from bot.adapters.dynamodb_store import KEY_ATTRIBUTE, TTL_ATTRIBUTE
from bot.adapters.sqlite_store import SqliteRateLimiter
from bot.errors import StoreUnavailable
from bot.limits import Rate
from handlers.bootstrap import count_dynamodb_failures

START = 1_700_000_000.0
FIVE_AN_HOUR = Rate(5, 3600)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "dynamodb"])
def limiter(
    request: pytest.FixtureRequest, clock: Clock, tmp_path: Path
) -> Iterator[SqliteRateLimiter | DynamoRateLimiter]:
    if request.param == "sqlite":
        sqlite = SqliteRateLimiter(tmp_path / "sessions.db", clock=clock)
        yield sqlite
        sqlite.close()
    else:
        table = request.getfixturevalue("sessions_table")
        client = request.getfixturevalue("dynamodb_client")
        yield DynamoRateLimiter(table, client=client, clock=clock)


def test_a_full_bucket_allows_its_count_and_then_refuses(limiter: Any) -> None:
    allowed = [limiter.take("cards#T1#U1", FIVE_AN_HOUR).allowed for _ in range(6)]

    assert allowed == [True] * 5 + [False]


def test_a_refusal_says_when_the_next_token_is_back(limiter: Any) -> None:
    for _ in range(5):
        limiter.take("cards#T1#U1", FIVE_AN_HOUR)

    refused = limiter.take("cards#T1#U1", FIVE_AN_HOUR)

    assert not refused.allowed
    assert refused.retry_after == pytest.approx(720, abs=1)  # an hour / 5


def test_a_token_comes_back_after_its_interval_and_no_sooner(limiter: Any, clock: Clock) -> None:
    for _ in range(5):
        limiter.take("cards#T1#U1", FIVE_AN_HOUR)
    clock.now += 700
    assert not limiter.take("cards#T1#U1", FIVE_AN_HOUR).allowed
    clock.now += 21

    assert limiter.take("cards#T1#U1", FIVE_AN_HOUR).allowed
    assert not limiter.take("cards#T1#U1", FIVE_AN_HOUR).allowed


def test_after_a_whole_window_the_bucket_is_full_again(limiter: Any, clock: Clock) -> None:
    for _ in range(5):
        limiter.take("cards#T1#U1", FIVE_AN_HOUR)
    clock.now += 3601

    assert [limiter.take("cards#T1#U1", FIVE_AN_HOUR).allowed for _ in range(6)] == [True] * 5 + [
        False
    ]


def test_buckets_are_independent(limiter: Any) -> None:
    for _ in range(5):
        limiter.take("cards#T1#U1", FIVE_AN_HOUR)

    assert limiter.take("cards#T1#U2", FIVE_AN_HOUR).allowed


def test_a_take_costs_its_cost_and_one_bigger_than_the_bucket_never_passes(limiter: Any) -> None:
    assert limiter.take("cards#T1#U1", FIVE_AN_HOUR, cost=3).allowed
    assert not limiter.take("cards#T1#U1", FIVE_AN_HOUR, cost=3).allowed
    assert limiter.take("cards#T1#U1", FIVE_AN_HOUR, cost=2).allowed
    assert not limiter.take("cards#T1#U3", FIVE_AN_HOUR, cost=6).allowed


def test_concurrent_takes_never_exceed_the_bucket(limiter: Any) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: limiter.take("burst", FIVE_AN_HOUR).allowed, range(20)))

    assert results.count(True) == 5


def test_a_dynamodb_bucket_is_one_ttl_item_in_whole_seconds(
    sessions_table: str, dynamodb_client: Any, clock: Clock
) -> None:
    DynamoRateLimiter(sessions_table, client=dynamodb_client, clock=clock).take(
        "cards#T1#U1", FIVE_AN_HOUR
    )

    item = dynamodb_client.get_item(
        TableName=sessions_table, Key={KEY_ATTRIBUTE: {"S": f"{LIMIT_KEY_PREFIX}cards#T1#U1"}}
    )["Item"]
    assert item[TAT_ATTRIBUTE] == {"N": str(int(START) + 720)}
    assert int(item[TTL_ATTRIBUTE]["N"]) > int(START) + 720


class CountingMetrics:
    """A `Metrics` that keeps what it is given."""

    def __init__(self) -> None:
        self.counted: list[tuple[str, str | None]] = []

    def count(self, name: str, *, dimension: str | None = None, value: int = 1) -> None:
        self.counted.append((name, dimension))

    def milliseconds(self, name: str, value: float, *, dimension: str | None = None) -> None:
        self.counted.append((name, dimension))


def test_failed_dynamodb_calls_count_as_provider_errors_and_lost_races_do_not(
    sessions_table: str, moto_reset: str
) -> None:
    metrics = CountingMetrics()
    client = boto3.client("dynamodb", endpoint_url=moto_reset, region_name="us-east-1")
    count_dynamodb_failures(client, metrics)  # type: ignore[arg-type]
    limiter = DynamoRateLimiter(sessions_table, client=client)
    for _ in range(3):  # the third is refused: conditions fail, as they are meant to
        limiter.take("cards#T1#U1", Rate(2, 3600))
    assert metrics.counted == []

    with pytest.raises(StoreUnavailable):
        DynamoRateLimiter("no-such-table", client=client).take("k", Rate(2, 3600))

    assert metrics.counted == [("ProviderErrors", "dynamodb")]
