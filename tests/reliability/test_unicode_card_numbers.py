"""Card numbers in any digit script: warned about, redacted, and never stored, on both stores.

A full-width or Arabic-Indic card number is still a card number: a DM holding
one gets the warning, and the session keeps only the redaction placeholder.
"""

from __future__ import annotations

import json

import pytest

from bot.cards import REDACTED
from bot.messages import PAN_WARNING
from tests.card_oracle import has_pan
from tests.integration.harness import Paybot
from tests.reliability.adversarial import DIGIT_ZEROS, VISA, grouped, in_script
from tests.reliability.stores import StoreUnderTest

RENDERINGS = {
    "full-width, spaced": grouped(in_script(VISA, "full-width"), " "),
    "full-width, ideographic spaces": grouped(in_script(VISA, "full-width"), "\u3000"),
    "full-width, unbroken": in_script(VISA, "full-width"),
    "arabic-indic, spaced": grouped(in_script(VISA, "arabic-indic"), " "),
    "persian, dashed": grouped(in_script(VISA, "persian"), "-"),
    "devanagari, unbroken": in_script(VISA, "devanagari"),
    "mixed scripts": in_script(VISA[:8], "full-width") + in_script(VISA[8:], "arabic-indic"),
    "ascii, zero-width between digits": "\u200b".join(VISA),
    "ascii, soft hyphens and no-break spaces": grouped("\u00ad".join(VISA), "\u00a0", 7),
    "ascii, ideographic full stops": grouped(VISA, "\u3002"),
    "full-width, full-width full stops": grouped(in_script(VISA, "full-width"), "\uff0e"),
    "ascii, halfwidth ideographic full stops": grouped(VISA, "\uff61"),
}


def digits_of(text: str) -> set[str]:
    return {char for char in text if char.isdecimal()}


def assert_not_stored(store: StoreUnderTest, rendering: str) -> None:
    raw = store.raw()
    assert not has_pan(raw)
    foreign = digits_of(rendering) - set("0123456789")
    assert not foreign & set(raw), "digits of the card's script reached the store"
    visible = "".join(char for char in raw if char not in "\u200b\u00ad\u00a0")
    assert VISA not in visible
    assert grouped(VISA, " ") not in visible


@pytest.mark.parametrize("rendering", RENDERINGS.values(), ids=RENDERINGS.keys())
def test_a_dm_with_a_card_number_in_any_script_is_warned_and_never_stored(
    paybot_on_store: Paybot, store: StoreUnderTest, rendering: str
) -> None:
    paybot = paybot_on_store
    assert paybot.dm(f"my card is {rendering} thanks").status == 200
    (reply,) = paybot.wait_for_bot_messages(1)
    assert PAN_WARNING in reply["text"]
    assert not digits_of(reply["text"])
    assert not has_pan(json.dumps(reply["blocks"], ensure_ascii=False))
    session = store.session(paybot.user_id)
    assert session is not None
    (said,) = [t.text for t in session.history if t.role == "user"]
    assert REDACTED in said
    assert not digits_of(said)
    assert_not_stored(store, rendering)


@pytest.mark.parametrize("script", ["full-width", "arabic-indic"])
def test_pay_with_a_card_number_in_another_script_warns_and_opens_the_form(
    paybot: Paybot, script: str
) -> None:
    answer = paybot.pay(grouped(in_script(VISA, script), " "))
    assert answer.status == 200
    assert PAN_WARNING in answer.body
    assert not digits_of(answer.body)
    assert paybot.card_form()


@pytest.mark.parametrize("script", sorted(set(DIGIT_ZEROS) - {"ascii"}))
def test_a_card_typed_in_another_script_in_the_form_is_saved(paybot: Paybot, script: str) -> None:
    paybot.pay()
    answer = paybot.submit(
        {
            "name": "Ada Lovelace",
            "number": grouped(in_script(VISA, script), " "),
            "expiry": in_script("08/30", script),
            "cvc": in_script("123", script),
        }
    )
    assert "Card saved" in answer.body
    (method,) = paybot.stripe.payment_methods
    assert method["card"]["last4"] == "4242"
    assert (method["card"]["exp_month"], method["card"]["exp_year"]) == (8, 2030)


FULL_WIDTH_DASHES = {
    "full-width hyphen-minus U+FF0D": "\uff0d",
    "katakana prolonged sound mark U+30FC (an IME's dash)": "\u30fc",
    "minus sign U+2212": "\u2212",
}


@pytest.mark.parametrize("dash", FULL_WIDTH_DASHES.values(), ids=FULL_WIDTH_DASHES.keys())
def test_a_full_width_card_number_grouped_with_a_wide_dash_is_warned_and_never_stored(
    paybot_on_store: Paybot, store: StoreUnderTest, dash: str
) -> None:
    paybot = paybot_on_store
    rendering = grouped(in_script(VISA, "full-width"), dash)
    paybot.dm(f"my card is {rendering}")
    (reply,) = paybot.wait_for_bot_messages(1)
    assert PAN_WARNING in reply["text"]
    assert_not_stored(store, rendering)
