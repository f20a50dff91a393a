"""`audit export --since`: a date, a time or an age, as seconds since the epoch."""

from __future__ import annotations

import pytest

from handlers.audit import parse_since

NOW = 1_796_119_200.25  # 2026-12-01T10:00:00.25Z


def clock() -> float:
    return NOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01", 1_796_083_200),  # midnight UTC
        ("2026-12-01T10:00:00Z", 1_796_119_200),
        ("2026-12-01T10:00:00+00:00", 1_796_119_200),
        ("2026-12-01T11:00:00+01:00", 1_796_119_200),
        ("2026-12-01T10:00:00", 1_796_119_200),  # no zone: UTC
        ("2026-12-01T10:00:00.5Z", 1_796_119_201),  # a record at 10:00:00 came before it
    ],
)
def test_a_date_or_time_is_read_as_iso_8601(text: str, expected: int) -> None:
    assert parse_since(text, clock=clock) == expected


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("0h", 0)]
)
def test_an_age_counts_back_from_now(text: str, seconds: int) -> None:
    assert parse_since(text, clock=clock) == 1_796_119_201 - seconds


def test_an_age_older_than_the_epoch_means_everything() -> None:
    assert parse_since("999999999d", clock=clock) == 0


@pytest.mark.parametrize(
    "text", ["", "now", "24", "h", "24h\n", "24x", "-24h", "1.5h", "24 h", "２４h", "2026-13-01"]
)
def test_anything_else_is_refused_naming_the_flag(text: str) -> None:
    with pytest.raises(ValueError, match=r"^--since must be"):
        parse_since(text, clock=clock)
