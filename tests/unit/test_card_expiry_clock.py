"""Card expiry is judged on UTC's calendar, whatever clock or zone the caller holds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

import pytest

from bot.cards import CardRejected, parse_expiry


class NoOffset(tzinfo):
    """A zone that cannot say its offset: the clock is as good as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 12, 4), datetime(2026, 12, 4, tzinfo=NoOffset())],
    ids=["naive", "no-offset"],
)
def test_a_clock_without_an_offset_is_refused_by_name(now: datetime) -> None:
    with pytest.raises(ValueError, match=r"^parse_expiry needs a timezone-aware `now`$"):
        parse_expiry("12/30", now=now)


@pytest.fixture
def local_zone_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_month_is_utcs_even_where_the_process_runs_in_another_zone(
    local_zone_new_york: None,
) -> None:
    # 23:30 on 31 December in New York is already January in UTC: a 12/26 card has expired.
    new_year_in_utc = datetime(2027, 1, 1, 4, 30, tzinfo=UTC)
    with pytest.raises(CardRejected) as rejected:
        parse_expiry("12/26", now=new_year_in_utc)
    assert rejected.value.field == "expiry"
    assert parse_expiry("01/27", now=new_year_in_utc) == (1, 2027)
