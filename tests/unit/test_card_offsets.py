"""Where exactly a card number is found, across turns and at the edges of a message.

A span one character off either leaves a digit of the number behind or eats a character
of the text around it; these cases pin each boundary to an exact answer.
"""

from __future__ import annotations

import pytest

from bot.cards import (
    DETAILS_REDACTED,
    REDACTED,
    CardRejected,
    ScreenedTurn,
    mask,
    may_continue_card_data,
    pans_across_turns,
    screen_turn,
    validate_name,
    validate_number,
)

# 4000 0566 5566 5556 is a Visa test card; every split of it below is made of its digits.


def test_no_turns_have_no_spans() -> None:
    assert pans_across_turns([]) == []


def test_a_number_in_one_turn_is_spanned_from_its_first_to_its_last_digit() -> None:
    assert pans_across_turns(["card 4000 0566 5566 5556 ok"]) == [[(5, 24)]]


def test_a_number_over_two_turns_is_spanned_in_each() -> None:
    assert pans_across_turns(["my card is 4000 0566", "5566 5556 thanks"]) == [
        [(11, 20)],
        [(0, 9)],
    ]


def test_a_turn_of_digits_alone_lets_the_number_reach_one_turn_further_back() -> None:
    assert pans_across_turns(["card 4000", "0566 5566", "5556 ok"]) == [
        [(5, 9)],
        [(0, 9)],
        [(0, 4)],
    ]


def test_separators_at_the_join_are_left_out_of_both_spans() -> None:
    assert pans_across_turns(["card 4000 0566 -", "- 5566 5556"]) == [[(5, 14)], [(2, 11)]]


def test_a_zero_width_character_at_the_end_of_a_turn_still_joins_it_to_the_next() -> None:
    assert pans_across_turns(["card 4000\u200b", "0566 5566 5556"]) == [[(5, 9)], [(0, 14)]]


def test_a_number_wholly_in_an_earlier_turn_is_that_turns_own_business() -> None:
    # Each turn was screened when it came; only the new one is read with the turns before.
    assert pans_across_turns(["4000 0566 5566 5556 sent", "ok"]) == [[], []]


def test_an_empty_turn_ends_the_reach_back() -> None:
    assert pans_across_turns(["card 4000 0566", "", "5566 5556"]) == [[], [], []]


def test_a_number_in_a_lone_message_replaces_it() -> None:
    assert screen_turn("card 4000 0566 5566 5556") == ScreenedTurn(REDACTED, (), True)


def test_a_number_completed_by_the_new_message_is_cut_from_the_earlier_turn_exactly() -> None:
    screened = screen_turn("- 5566 5556", ["card 4000 0566 -"])
    assert screened == ScreenedTurn(REDACTED, (f"card {REDACTED} -",), True)


def test_a_number_that_ended_in_the_turn_before_is_removed_there_and_the_new_one_kept() -> None:
    # The earlier turn is digits alone, so it joins the new message; the number is its own.
    screened = screen_turn("hello", ["4000 0566 5566 5556"])
    assert screened == ScreenedTurn("hello", (REDACTED,), True)


def test_a_message_with_nothing_to_remove_is_kept_with_its_turns() -> None:
    assert screen_turn("thanks", ["hi", "pay 45"]) == ScreenedTurn(
        "thanks", ("hi", "pay 45"), False
    )


def test_details_right_after_removed_details_are_removed_too() -> None:
    assert screen_turn("12/30", ["hi", DETAILS_REDACTED]) == ScreenedTurn(
        DETAILS_REDACTED, ("hi", DETAILS_REDACTED), True
    )


def test_only_the_last_turn_decides_whether_a_number_was_just_removed() -> None:
    assert screen_turn("737", [REDACTED, "ok thanks"]) == ScreenedTurn(
        "737", (REDACTED, "ok thanks"), False
    )


@pytest.mark.parametrize("follow_up", ["\u0667\u0663\u0667", "\uff11\uff12/\uff13\uff10"])
def test_a_code_or_expiry_in_other_digits_after_a_removed_number_is_removed(
    follow_up: str,
) -> None:
    assert screen_turn(follow_up, [REDACTED]).text == DETAILS_REDACTED


@pytest.mark.parametrize(
    ("text", "may"),
    [
        ("\u200b5556", True),
        ("\u2013 \u00ad0566", True),
        ("", False),
        (" - ", False),
        ("cvc please", False),
        ("one 5556", False),
    ],
)
def test_whether_a_message_may_continue_card_data_is_read_from_its_first_mark(
    text: str, may: bool
) -> None:
    assert may_continue_card_data(text) is may


@pytest.mark.parametrize(
    ("typed", "lengths"),
    [
        ("4" + "0" * 16, "Visa card numbers have 13, 16 or 19 digits, but this one has 17"),
        ("51" + "0" * 13, "Mastercard card numbers have 16 digits, but this one has 15"),
        ("6011" + "0" * 11, "Discover card numbers have 16 to 19 digits, but this one has 15"),
        ("36" + "0" * 13, "card numbers have 14 or 16 digits, but this one has 15"),
    ],
)
def test_a_number_of_the_wrong_length_is_told_its_brands_lengths(typed: str, lengths: str) -> None:
    with pytest.raises(CardRejected) as rejected:
        validate_number(typed)
    assert lengths in rejected.value.user_message


def test_turns_of_digits_alone_are_each_spanned_once() -> None:
    assert pans_across_turns(["4000 0566", "5566 5556"]) == [[(0, 9)], [(0, 9)]]


def test_a_turn_with_one_character_before_its_digits_stops_the_reach_back() -> None:
    # "a 0566" may end a number, but nothing before it can join; 12 digits are no card.
    assert pans_across_turns(["4000", "a 0566", "5566 5556"]) == [[], [], []]


def test_a_letter_right_before_the_digits_is_not_part_of_the_tail() -> None:
    assert pans_across_turns(["a4000", "0566 5566 5556"]) == [[(1, 5)], [(0, 14)]]


def test_a_digit_just_past_the_number_in_the_last_turn_is_not_spanned() -> None:
    assert pans_across_turns(["my card is 4000 0566", "5566 5556x1"]) == [[(11, 20)], [(0, 9)]]


def test_a_digit_after_words_in_the_third_turn_is_not_spanned() -> None:
    assert pans_across_turns(["card 4000", "0566 5566", "5556 ok 12"]) == [
        [(5, 9)],
        [(0, 9)],
        [(0, 4)],
    ]


def test_a_turn_of_a_dash_alone_inside_a_number_has_no_span_of_its_own() -> None:
    assert pans_across_turns(["card 4000 0566", "-", "5566 5556"]) == [[(5, 14)], [], [(0, 9)]]


def test_mask_says_exactly_what_it_needs() -> None:
    with pytest.raises(ValueError, match=r"^last4 must be exactly four ASCII digits$"):
        mask("visa", "42")


def test_a_name_with_a_run_of_exactly_13_digits_is_refused_and_12_are_not() -> None:
    with pytest.raises(CardRejected) as rejected:
        validate_name("Jane 1234567890123")
    assert rejected.value.user_message.startswith("That looks like a card number")
    assert validate_name("Jane 123456789012") == "Jane 123456789012"
