"""Metrics as CloudWatch embedded metric format (EMF) lines, one line per data point.

Lambda's Python runtime sends each stdout line to CloudWatch Logs, which turns a
line in this format into metric data: no client, no network call, nothing to
flush when an invocation ends. Every line is in namespace `paybot` and carries
the `Stage` dimension; a metric with a breakdown is published under two
dimension sets in the same line, `[["Stage"], ["Stage", <breakdown>]]`.

A breakdown's value comes only from a fixed allow-list, so no user text or card
data can reach a metric. A value outside its list, or a writer that fails,
drops the data point with a warning and never raises: a metric must not break a
payment. Stripe decline codes outside the known list are counted as `other`.
"""

from __future__ import annotations

import json
import logging
import math
import string
import sys
import threading
import time
from collections.abc import Callable
from typing import Literal, Protocol, get_args, overload

from bot.cards import contains_pan
from bot.limits import Budget

__all__ = [
    "BUDGETS",
    "DECLINE_CODES",
    "NAMESPACE",
    "PROVIDERS",
    "SURFACES",
    "Budget",
    "DeclineCode",
    "EmfMetrics",
    "MetricName",
    "Metrics",
    "NoMetrics",
    "Provider",
    "Surface",
    "decline_code",
    "write_stdout_line",
]

logger = logging.getLogger(__name__)

NAMESPACE = "paybot"

MetricName = Literal[
    "Turns",
    "CardFormsOpened",
    "CardsSaved",
    "CardDeclines",
    "RateLimited",
    "EngineFallbacks",
    "ProviderErrors",
    "AckLatency",
]
SurfaceCount = Literal["Turns", "CardFormsOpened", "CardsSaved"]
Surface = Literal["slack", "teams"]
Provider = Literal["stripe", "slack", "teams", "dynamodb", "bedrock"]
# Stripe's card decline codes (its "Decline codes" reference), deprecated ones
# included, plus the error codes Stripe answers a card error with when it gives
# no decline code; "other" stands for anything else.
DeclineCode = Literal[
    "approve_with_id",
    "authentication_not_handled",
    "authentication_required",
    "call_issuer",
    "card_declined",
    "card_not_supported",
    "card_velocity_exceeded",
    "currency_not_supported",
    "do_not_honor",
    "do_not_try_again",
    "duplicate_transaction",
    "expired_card",
    "fraudulent",
    "generic_decline",
    "incorrect_address",
    "incorrect_cvc",
    "incorrect_number",
    "incorrect_pin",
    "incorrect_zip",
    "insufficient_funds",
    "invalid_account",
    "invalid_amount",
    "invalid_cvc",
    "invalid_expiry_month",
    "invalid_expiry_year",
    "invalid_number",
    "invalid_pin",
    "issuer_not_available",
    "lost_card",
    "merchant_blacklist",
    "mobile_device_authentication_required",
    "new_account_information_available",
    "no_action_taken",
    "not_permitted",
    "offline_pin_required",
    "online_or_offline_pin_required",
    "pickup_card",
    "pin_try_exceeded",
    "processing_error",
    "reenter_transaction",
    "restricted_card",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "security_violation",
    "service_not_allowed",
    "stolen_card",
    "stop_payment_order",
    "testmode_decline",
    "transaction_not_allowed",
    "try_again_later",
    "withdrawal_count_limit_exceeded",
    "other",
]

SURFACES: frozenset[str] = frozenset(get_args(Surface))
BUDGETS: frozenset[str] = frozenset(get_args(Budget))
PROVIDERS: frozenset[str] = frozenset(get_args(Provider))
DECLINE_CODES: frozenset[str] = frozenset(get_args(DeclineCode))
# A deployment stage as the Serverless Framework names one; it is a dimension value.
# (Plain set checks, not a regular expression: this module is imported on every cold start.)
_STAGE_FIRST = frozenset(string.ascii_letters + string.digits)
_STAGE_CHARS = _STAGE_FIRST | frozenset("_.-")
_STAGE_MAX = 128


def decline_code(raw: str | None) -> DeclineCode:
    """`raw` when it is a known Stripe decline code, else "other".

    Pass the card error's `decline_code`, or its `code` when it has none.
    """
    if raw in DECLINE_CODES:
        return raw  # type: ignore[return-value]  # membership checked against the Literal
    return "other"


# name -> (unit, the breakdown's dimension name or None for `Stage` only, its allow-list).
# Plain tuples, not a dataclass: this module is imported on every cold start, and building
# a dataclass was the largest part of its import time.
_DEFINITIONS: dict[str, tuple[str, str | None, frozenset[str]]] = {
    "Turns": ("Count", "Surface", SURFACES),
    "CardFormsOpened": ("Count", "Surface", SURFACES),
    "CardsSaved": ("Count", "Surface", SURFACES),
    "CardDeclines": ("Count", "Code", DECLINE_CODES),
    "RateLimited": ("Count", "Budget", BUDGETS),
    "EngineFallbacks": ("Count", None, frozenset()),
    "ProviderErrors": ("Count", "Provider", PROVIDERS),
    "AckLatency": ("Milliseconds", "Surface", SURFACES),
}


class Metrics(Protocol):
    """Where the app's metrics go; each call is one data point, published at once."""

    @overload
    def count(self, name: SurfaceCount, *, dimension: Surface, value: int = 1) -> None: ...
    @overload
    def count(
        self, name: Literal["CardDeclines"], *, dimension: DeclineCode, value: int = 1
    ) -> None: ...
    @overload
    def count(self, name: Literal["RateLimited"], *, dimension: Budget, value: int = 1) -> None: ...
    @overload
    def count(
        self, name: Literal["ProviderErrors"], *, dimension: Provider, value: int = 1
    ) -> None: ...
    @overload
    def count(
        self, name: Literal["EngineFallbacks"], *, dimension: None = None, value: int = 1
    ) -> None: ...

    def milliseconds(
        self, name: Literal["AckLatency"], value: float, *, dimension: Surface
    ) -> None:
        """Publish a duration in milliseconds."""
        ...


class NoMetrics:
    """Metrics that go nowhere: local runs and tests that do not look at them."""

    def count(self, name: MetricName, *, dimension: str | None = None, value: int = 1) -> None:
        """Publish nothing."""

    def milliseconds(self, name: MetricName, value: float, *, dimension: str | None = None) -> None:
        """Publish nothing."""


_stdout_lock = threading.Lock()


def write_stdout_line(line: str) -> None:
    """Write `line` to stdout as one whole line and flush it (Lambda reads stdout by line)."""
    with _stdout_lock:  # lazy listeners run in threads: lines must not interleave
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class EmfMetrics:
    """Writes each data point at once as one EMF line.

    Args:
        stage: the `Stage` dimension's value on every line (the deployment stage).
        write: takes one line without its newline; stdout by default.
        clock: seconds since the epoch, for the line's timestamp.

    Raises `ValueError` (at construction only) when `stage` is not a stage name.
    """

    def __init__(
        self,
        stage: str,
        write: Callable[[str], None] = write_stdout_line,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not _is_stage(stage):
            raise ValueError(
                "the metrics stage must be 1-128 letters, digits, '_', '.' or '-', "
                "starting with a letter or digit"
            )
        self._stage = stage
        self._write = write
        self._clock = clock

    def count(self, name: MetricName, *, dimension: str | None = None, value: int = 1) -> None:
        """Publish `value` (a whole number) of `name`, a Count metric."""
        self._publish(name, "Count", dimension, value)

    def milliseconds(self, name: MetricName, value: float, *, dimension: str | None = None) -> None:
        """Publish a duration of `value` milliseconds (not negative) under `name`."""
        self._publish(name, "Milliseconds", dimension, value)

    def _publish(self, name: str, unit: str, dimension: str | None, value: object) -> None:
        try:
            line = self._line(name, unit, dimension, value)
            if line is not None:
                self._write(line)
        except Exception as exc:  # a metric must never break the request that counts it
            logger.warning("metric %s not written: %s", name, type(exc).__name__)

    def _line(self, name: str, unit: str, dimension: str | None, value: object) -> str | None:
        definition = _DEFINITIONS.get(name)
        if definition is None or definition[0] != unit:
            logger.warning("metric dropped: %r is not a %s metric of paybot", name, unit)
            return None
        _, breakdown, allowed = definition
        if name == "CardDeclines":
            dimension = decline_code(dimension)
        # A rejected value is never logged: it could be anything a caller mixed up.
        if breakdown is None and dimension is not None:
            logger.warning("metric %s dropped: it has no breakdown", name)
            return None
        if breakdown is not None and dimension not in allowed:
            logger.warning(
                "metric %s dropped: its %s is missing or not in the allow-list", name, breakdown
            )
            return None
        if not _valid_value(value, unit):
            logger.warning("metric %s dropped: its value is not a valid %s", name, unit)
            return None
        directive = {
            "Namespace": NAMESPACE,
            "Dimensions": [["Stage"]] if breakdown is None else [["Stage"], ["Stage", breakdown]],
            "Metrics": [{"Name": name, "Unit": unit}],
        }
        document: dict[str, object] = {
            "_aws": {"Timestamp": _timestamp(self._clock()), "CloudWatchMetrics": [directive]},
            "Stage": self._stage,
        }
        if breakdown is not None:
            document[breakdown] = dimension
        # A tenth of a millisecond at most: a float's long fraction is a digit run that
        # can read as a card number to any scanner of the logs (and to ours).
        document[name] = round(value, 1) if isinstance(value, float) else value
        return json.dumps(document, separators=(",", ":"))


def _timestamp(now: float) -> int:
    """`now` in whole milliseconds, moved back by at most a few so that its 13 digits never
    pass the card-number check (1 in 10 would): no metric line may look like card data."""
    millis = int(now * 1000)
    while contains_pan(str(millis)):
        millis -= 1
    return millis


def _is_stage(stage: str) -> bool:
    return (
        0 < len(stage) <= _STAGE_MAX
        and stage[0] in _STAGE_FIRST
        and all(char in _STAGE_CHARS for char in stage)
    )


def _valid_value(value: object, unit: str) -> bool:
    if isinstance(value, bool):
        return False
    if unit == "Count":
        return isinstance(value, int) and value >= 0
    return isinstance(value, int | float) and math.isfinite(value) and value >= 0


NO_METRICS: Metrics = NoMetrics()
"""The default where no metrics are wanted (tests, `make run`)."""
