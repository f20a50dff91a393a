"""Cancel detection (bot/cancellation.py): word-boundary and state-aware."""

from __future__ import annotations

import pytest

from bot.cancellation import is_cancel

CANCEL_IN_ANY_STATE = [
    "cancel",
    "stop",
    "quit",
    "abort",
    "exit",
    "never mind",
    "nevermind",
    "forget it",
    "Cancel please",
    "please stop!",
    "STOP",
    "cancel?",
    "ok, cancel the payment",
    "Never mind, forget it.",
]

NEVER_CANCEL = [
    "I don't know",
    "not now?",
    "November",
    "stopwatch",
    "don't cancel",
    "Don\u2019t cancel",
    "do not stop",
    "no need to cancel",
    "no, the amount is 50",
    "noon works",
    "nothing",
    "exiting tunnel soon",
    "cancellation policy?",
    "pay $45 for INV-1001",
    "",
]

BARE_REFUSALS = ["no", "No.", "nope", "nah", "no thanks", "no, thank you", "No!"]


@pytest.mark.parametrize("text", CANCEL_IN_ANY_STATE)
@pytest.mark.parametrize("card_form_offered", [False, True])
def test_cancel_words_cancel_in_any_state(text: str, card_form_offered: bool) -> None:
    assert is_cancel(text, card_form_offered=card_form_offered)


@pytest.mark.parametrize("text", NEVER_CANCEL)
@pytest.mark.parametrize("card_form_offered", [False, True])
def test_text_that_only_resembles_a_cancel_never_cancels(
    text: str, card_form_offered: bool
) -> None:
    assert not is_cancel(text, card_form_offered=card_form_offered)


@pytest.mark.parametrize("text", BARE_REFUSALS)
def test_bare_no_cancels_while_the_card_form_is_on_offer(text: str) -> None:
    assert is_cancel(text, card_form_offered=True)


@pytest.mark.parametrize("text", BARE_REFUSALS)
def test_bare_no_does_not_cancel_when_no_card_form_is_on_offer(text: str) -> None:
    assert not is_cancel(text, card_form_offered=False)


@pytest.mark.parametrize("text", ["I don't want to cancel", "I do not want to cancel the payment"])
def test_not_wanting_to_cancel_is_not_a_cancel(text: str) -> None:
    assert not is_cancel(text, card_form_offered=False)


def test_never_mind_followed_by_a_cancel_word_cancels() -> None:
    assert is_cancel("never mind stop", card_form_offered=False)


def test_a_negation_only_cancels_out_the_cancel_word_right_after_it() -> None:
    assert is_cancel("don't stop, cancel it", card_form_offered=False)
