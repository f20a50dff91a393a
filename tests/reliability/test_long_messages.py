"""A DM as long as Slack allows costs a bounded amount of parsing, whatever it says.

Work is measured, never timed: the characters handed to the dialogue's regular
expressions (`bot.rules`, `bot.cancellation`) over one turn. Where a pattern
could backtrack within one call, its cost is compared with plain text of the
same length in the same run, with a generous bound.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot import cancellation, rules
from bot.cancellation import is_cancel
from bot.models import MAX_TURN_CHARS, Intent, Slots
from tests.integration.harness import Paybot, running_paybot
from tests.reliability.adversarial import SLACK_TEXT_LIMIT

PASSES = 60
"""Regular-expression passes over the text that one turn may make (about 30 today)."""

_TAKES_STRING_SECOND = frozenset({"sub", "subn"})
_SCANS = frozenset({"search", "match", "fullmatch", "finditer", "findall", "split"})


@dataclass
class Scanned:
    """Characters handed to regular expressions, summed over every call."""

    chars: int = 0
    calls: int = 0


@dataclass
class CountingPattern:
    """A compiled pattern that adds the length of every string it is given to `scanned`."""

    pattern: re.Pattern[str]
    scanned: Scanned = field(repr=False)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.pattern, name)
        if name not in _SCANS | _TAKES_STRING_SECOND:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            string = args[1] if name in _TAKES_STRING_SECOND else args[0]
            self.scanned.chars += len(string)
            self.scanned.calls += 1
            return attribute(*args, **kwargs)

        return counted


def _counting(value: object, scanned: Scanned) -> object:
    if isinstance(value, re.Pattern):
        return CountingPattern(value, scanned)
    if isinstance(value, tuple):
        return tuple(_counting(item, scanned) for item in value)
    return value


def count_scanning(monkeypatch: pytest.MonkeyPatch, *modules: ModuleType) -> Scanned:
    """Replace every module-level pattern (also inside tuples) of `modules` with a counter."""
    scanned = Scanned()
    for module in modules:
        for name, value in vars(module).items():
            wrapped = _counting(value, scanned)
            if wrapped is not value and wrapped != value:
                monkeypatch.setattr(module, name, wrapped)
    return scanned


def many_negated_cancels(length: int) -> str:
    """Every word a cancel word, every one negated: the shape that was quadratic."""
    return ("don't cancel " * (length // 13 + 1))[:length]


@pytest.fixture
def paybot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paybot]:
    with running_paybot(tmp_path, monkeypatch) as running:
        yield running


def test_a_dm_as_long_as_slack_allows_is_answered_after_parsing_only_the_capped_text(
    paybot: Paybot, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned = count_scanning(monkeypatch, rules, cancellation)
    assert paybot.dm(many_negated_cancels(SLACK_TEXT_LIMIT)).status == 200
    (reply,) = paybot.wait_for_bot_messages(1)
    assert reply["text"]
    assert 0 < scanned.chars <= PASSES * MAX_TURN_CHARS


def test_text_beyond_the_cap_is_not_read_for_cancel_words() -> None:
    beyond = "x" * MAX_TURN_CHARS + " cancel"
    assert not is_cancel(beyond, card_form_offered=False)
    assert rules.parse(beyond).intent is not Intent.CANCEL


def test_text_beyond_the_cap_names_no_slots() -> None:
    beyond = "x" * MAX_TURN_CHARS + " pay $45 for INV-1001"
    assert rules.extract_slots(beyond) == Slots()


def test_cancel_detection_reads_each_character_a_bounded_number_of_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scanned = count_scanning(monkeypatch, cancellation)
    text = many_negated_cancels(MAX_TURN_CHARS)
    assert not is_cancel(text, card_form_offered=True)
    assert scanned.chars <= 4 * len(text)


def test_negated_cancel_words_are_found_in_one_pass_however_many_there_are() -> None:
    text = many_negated_cancels(MAX_TURN_CHARS - 20) + " ok, cancel"
    assert is_cancel(text, card_form_offered=False)


# Shapes that made one pattern backtrack: a long run inside a single match attempt.
HOSTILE_SHAPES: dict[str, Callable[[int], str]] = {
    "question marks then a letter": lambda n: "?" * n + "a",
    "pay then blanks": lambda n: "pay" + " " * n + "x",
    "amount is then blanks": lambda n: "the amount is" + " " * n + "x",
    "no then blanks": lambda n: "no" + " " * n + "x",
    "yes then blanks": lambda n: "yes" + " " * n + "x",
    "invoice then blanks": lambda n: "invoice" + " " * n + "!",
    "hello then blanks": lambda n: "hello" + " " * n + "?x",
}
RATIO = 20
"""How much slower than plain text of the same length a hostile shape may parse."""


def _cost(call: Callable[[], object], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("shape", HOSTILE_SHAPES.values(), ids=HOSTILE_SHAPES.keys())
def test_a_hostile_message_parses_about_as_fast_as_plain_text_of_its_length(
    shape: Callable[[int], str],
) -> None:
    length = MAX_TURN_CHARS // 2
    plain = ("hello world, how are you " * length)[:length]
    hostile = shape(length)

    def turn(text: str) -> Callable[[], object]:
        return lambda: (
            rules.parse(text, card_form_offered=True),
            is_cancel(text, card_form_offered=True),
        )

    assert _cost(turn(hostile)) <= RATIO * _cost(turn(plain))
