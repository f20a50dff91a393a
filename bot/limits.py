"""Abuse limits as token buckets, in the generic cell rate algorithm's form (GCRA).

A bucket of `count` tokens refills at `count` per `per_seconds`. Instead of a token
count and a refill time, GCRA keeps one number per bucket, its theoretical arrival
time (`tat`): the moment the bucket would be full again. Taking `cost` tokens at
`now` is allowed while `max(tat, now) + cost * interval` stays within one window of
`now`; it moves `tat` there. One number means one conditional write in a store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Rate:
    """`count` takes per `per_seconds`, all of them at once if the bucket is full."""

    count: int
    per_seconds: int

    @property
    def interval(self) -> float:
        """Seconds one token takes to come back."""
        return self.per_seconds / self.count


@dataclass(frozen=True)
class Take:
    """What taking from a bucket came to."""

    allowed: bool
    tat: float
    """The bucket's theoretical arrival time after this take (unchanged when refused)."""
    retry_after: float = 0.0
    """Seconds until the same take would be allowed; 0 when it was."""


def take(tat: float | None, *, now: float, rate: Rate, cost: int = 1) -> Take:
    """Take `cost` tokens from a bucket last left at `tat` (None: never used, so full)."""
    start = now if tat is None else max(tat, now)
    after = start + cost * rate.interval
    ceiling = now + rate.per_seconds
    if after <= ceiling:
        return Take(True, after)
    return Take(False, start, retry_after=after - ceiling)


Budget = Literal["turns", "cards", "pages", "charges"]
"""What a bucket limits: model turns, card submissions, hosted page creations, charges."""


@dataclass(frozen=True)
class Allowance:
    """How much of one kind of request a person, and their whole workspace, may make."""

    per_person: Rate
    per_workspace: Rate


@dataclass(frozen=True)
class Limits:
    """Every budget a deployment enforces; `turns` is None when turns cost no model call."""

    cards: Allowance = Allowance(Rate(5, 3600), Rate(100, 3600))
    pages: Allowance = Allowance(Rate(10, 3600), Rate(200, 3600))
    turns: Allowance | None = Allowance(Rate(60, 3600), Rate(1000, 3600))
    charges: Allowance = Allowance(Rate(10, 3600), Rate(200, 3600))


DEFAULT_LIMITS = Limits()
"""`Settings`' defaults (README, "Configuration")."""
