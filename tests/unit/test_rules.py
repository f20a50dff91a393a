"""The rule engine (bot/rules.py) and amount formatting (bot/money.py), read as a specification."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot import messages
from bot.cards import REDACTED
from bot.models import Intent, NextStep, PaymentRecord, Session, Slots, State
from bot.money import format_amount
from bot.ports import DialogueEngine
from bot.rules import (
    MAX_PARSED_CHARS,
    Parsed,
    RuleEngine,
    amount_refusal,
    extract_amount,
    extract_email,
    extract_reference,
    parse,
)


def slots(
    amount: str | None = None,
    currency: str | None = None,
    reference: str | None = None,
    email: str | None = None,
) -> Slots:
    return Slots(
        amount=Decimal(amount) if amount is not None else None,
        currency=currency,
        reference=reference,
        email=email,
    )


NONE = slots()

# (utterance, expected intent, expected slots); the card form is not on offer.
UTTERANCES = [
    # greet
    ("hi", Intent.GREET, NONE),
    ("Hello there!", Intent.GREET, NONE),
    ("hey", Intent.GREET, NONE),
    ("Good morning :wave:", Intent.GREET, NONE),
    ("Good morning 👋", Intent.GREET, NONE),
    # pay
    ("I want to pay", Intent.PAY, NONE),
    ("pay $45 for INV-1001", Intent.PAY, slots("45", "USD", "INV-1001")),
    ("pay 45", Intent.PAY, slots("45")),
    ("45 usd", Intent.PAY, slots("45", "USD")),
    ("USD 45 for invoice #1001", Intent.PAY, slots("45", "USD", "1001")),
    ("€12.50 ref ABC-7", Intent.PAY, slots("12.50", "EUR", "ABC-7")),
    ("£3 please", Intent.PAY, slots("3", "GBP")),
    ("settle invoice 1001", Intent.PAY, slots(reference="1001")),
    ("invoice 1001", Intent.PAY, slots(reference="1001")),
    ("the invoice", Intent.PAY, NONE),
    ("reference: PO-55, 1,250.00 EUR", Intent.PAY, slots("1250.00", "EUR", "PO-55")),
    ("12 euros", Intent.PAY, slots("12", "EUR")),
    ("can I use my card?", Intent.PAY, NONE),
    ("no, the amount is 50", Intent.PAY, slots("50")),
    (
        "pay $45, receipt to ann@example.com",
        Intent.PAY,
        slots("45", "USD", email="ann@example.com"),
    ),
    ("Hi, I'd like to pay invoice 1001", Intent.PAY, slots(reference="1001")),
    # help
    ("help", Intent.HELP, NONE),
    ("how does this work?", Intent.HELP, NONE),
    ("what can you do", Intent.HELP, NONE),
    ("?", Intent.HELP, NONE),
    ("how do I pay invoice 1001?", Intent.HELP, slots(reference="1001")),
    # status
    ("status", Intent.STATUS, NONE),
    ("where are we?", Intent.STATUS, NONE),
    ("did it work?", Intent.STATUS, NONE),
    ("what's the status of my payment", Intent.STATUS, NONE),
    # cancel
    ("cancel", Intent.CANCEL, NONE),
    ("never mind", Intent.CANCEL, NONE),
    ("please stop!", Intent.CANCEL, NONE),
    ("stop, I don't want to pay $45", Intent.CANCEL, slots("45", "USD")),
    # confirm
    ("yes", Intent.CONFIRM, NONE),
    ("Yep!", Intent.CONFIRM, NONE),
    ("ok", Intent.CONFIRM, NONE),
    ("sure", Intent.CONFIRM, NONE),
    ("go ahead", Intent.CONFIRM, NONE),
    ("please do", Intent.CONFIRM, NONE),
    ("👍", Intent.CONFIRM, NONE),
    ("✅ yes", Intent.CONFIRM, NONE),
    ("yes please", Intent.CONFIRM, NONE),
    # must not misfire
    ("I don't know", Intent.OTHER, NONE),
    ("November", Intent.OTHER, NONE),
    ("stopwatch", Intent.OTHER, NONE),
    ("this is fine", Intent.OTHER, NONE),
    ("high five", Intent.OTHER, NONE),
    ("paying attention", Intent.OTHER, NONE),  # "paying" alone is no pay intent
    ("a paypal-like wallet", Intent.OTHER, NONE),
    ("helpful, thanks", Intent.OTHER, NONE),
    ("yes but not today", Intent.OTHER, NONE),
    ("no", Intent.OTHER, NONE),  # "no" cancels only while the card form is on offer
    ("not now?", Intent.OTHER, NONE),
    ("call me at 415 555 0100", Intent.OTHER, NONE),
    ("$0", Intent.OTHER, NONE),
    ("I can do 45", Intent.OTHER, NONE),
    ("version 1.2", Intent.OTHER, NONE),
    ("my email is ann@example.com", Intent.OTHER, slots(email="ann@example.com")),
]


@pytest.mark.parametrize(("text", "intent", "expected"), UTTERANCES)
def test_parse_finds_intent_and_slots(text: str, intent: Intent, expected: Slots) -> None:
    assert parse(text) == Parsed(intent, expected)


@pytest.mark.parametrize(
    ("text", "intent"),
    [("no", Intent.CANCEL), ("nope", Intent.CANCEL), ("not now?", Intent.OTHER)],
)
def test_parse_reads_a_bare_no_as_cancel_while_the_card_form_is_on_offer(
    text: str, intent: Intent
) -> None:
    assert parse(text, card_form_offered=True).intent is intent


def test_parse_takes_no_slots_from_the_redaction_placeholder() -> None:
    assert parse(f"here it is: {REDACTED}").slots == NONE


# Extractors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$45", (Decimal("45"), "USD")),
        ("$ 45", (Decimal("45"), "USD")),
        ("45 usd", (Decimal("45"), "USD")),
        ("USD 45", (Decimal("45"), "USD")),
        ("€12.50", (Decimal("12.50"), "EUR")),
        ("12.50€", (Decimal("12.50"), "EUR")),
        ("£3", (Decimal("3"), "GBP")),
        ("¥500", (Decimal("500"), "JPY")),
        ("45.00 EUR", (Decimal("45.00"), "EUR")),
        ("$1,250.00", (Decimal("1250.00"), "USD")),
        ("1,250.00 CHF", (Decimal("1250.00"), "CHF")),
        ("1,250.00 in usd please", (Decimal("1250.00"), "USD")),
        ("45 dollars", (Decimal("45"), "USD")),
        ("12 euros", (Decimal("12"), "EUR")),
        ("30 pounds", (Decimal("30"), "GBP")),
        ("$45 CAD", (Decimal("45"), "CAD")),
        ("pay 45", (Decimal("45"), None)),
        ("pay 45 in euros", (Decimal("45"), "EUR")),
        ("amount: 45", (Decimal("45"), None)),
        ("for 45", (Decimal("45"), None)),
        ("45.00", (Decimal("45.00"), None)),
        ("invoice 1001 for 45", (Decimal("45"), None)),
        ("pay INV-1001 $45", (Decimal("45"), "USD")),
        ("$9999999999.99", (Decimal("9999999999.99"), "USD")),
    ],
)
def test_extract_amount_understands(text: str, expected: tuple[Decimal, str | None]) -> None:
    assert extract_amount(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "45",  # a bare number may be an invoice number
        "1001",
        "invoice 1001",
        "invoice 1001 USD",  # the number is the reference, not an amount
        "INV-1001",
        "call me at 415 555 0100",
        "$0",
        "0.00 EUR",
        "$10000000000",
        "pay 10,000,000,000.00",
        "45.123 usd",
        "12,50 €",
        "the 45 for",  # "the" and "for" are no currencies
        "TRY 45",
        "version 1.2",
        "on 12.05.2024",
        "bob45@example.com",
        REDACTED,
        "",
    ],
)
def test_extract_amount_finds_none_in(text: str) -> None:
    assert extract_amount(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INV-1001", "INV-1001"),
        ("inv-1001", "INV-1001"),
        ("inv 1001", "1001"),
        ("invoice 1001", "1001"),
        ("invoice #1001", "1001"),
        ("Invoice no. 1001", "1001"),
        ("invoice number 1001", "1001"),
        ("ref ABC-7", "ABC-7"),
        ("reference: PO-55", "PO-55"),
        ("pay $45 for invoice inv-9a", "INV-9A"),
        ("$45 for PO-55", "PO-55"),
        ("USD 45 invoice 1001", "1001"),
    ],
)
def test_extract_reference_understands(text: str, expected: str) -> None:
    assert extract_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the invoice",
        "invoice for $45",
        "reference please",
        "$45",
        "pay 45",
        "invoice 45.00",
        "by mid-2024",
        f"invoice {REDACTED}",
        "",
    ],
)
def test_extract_reference_finds_none_in(text: str) -> None:
    assert extract_reference(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("send it to Ann.Lee+pay@Example.COM please", "Ann.Lee+pay@example.com"),
    ],
)
def test_extract_email_understands(text: str, expected: str) -> None:
    assert extract_email(text) == expected


@pytest.mark.parametrize("text", ["ann at example dot com", "@ann", "ann@localhost", ""])
def test_extract_email_finds_none_in(text: str) -> None:
    assert extract_email(text) is None


# Formatting ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("45", "USD", "$45.00"),
        ("12.5", "EUR", "€12.50"),
        ("3", "GBP", "£3.00"),
        ("500", "JPY", "¥500"),
        ("1500", "KRW", "1,500 KRW"),
        ("45", None, "45.00"),
        ("45", "CHF", "45.00 CHF"),
        ("1250", "USD", "$1,250.00"),
        ("1234567.5", "EUR", "€1,234,567.50"),
        ("45", "usd", "$45.00"),
    ],
)
def test_format_amount(amount: str, currency: str | None, expected: str) -> None:
    assert format_amount(Decimal(amount), currency) == expected


# The engine ---------------------------------------------------------------

ENGINE = RuleEngine()
IDLE = Session(tenant_id="T1", user_id="U1")
ORDER = slots("45", "USD", "INV-1001")
OFFERED = IDLE.evolve(state=State.AWAITING_CARD, slots=ORDER, card_form_offered=True)
VISA = PaymentRecord(
    payment_method_id="pm_card_visa", brand="visa", last4="4242", exp_month=8, exp_year=2030
)
COMPLETED = IDLE.evolve(state=State.COMPLETED, slots=ORDER, payment=VISA)


def test_rule_engine_is_a_dialogue_engine() -> None:
    engine: DialogueEngine = RuleEngine()
    assert engine.respond(IDLE, "hi").reply


def test_greeting_when_idle_says_what_the_bot_does_and_asks() -> None:
    decision = ENGINE.respond(IDLE, "hello")
    assert (decision.intent, decision.next_step) == (Intent.GREET, NextStep.ASK)
    assert "secure form" in decision.reply


def test_greeting_mid_payment_offers_the_card_form_again() -> None:
    decision = ENGINE.respond(OFFERED, "hi")
    assert decision.next_step is NextStep.OFFER_CARD_FORM
    assert "**$45.00** for invoice **INV-1001**" in decision.reply


def test_greeting_after_a_completed_payment_starts_afresh() -> None:
    assert ENGINE.respond(COMPLETED, "hi").next_step is NextStep.ASK


def test_pay_summarises_what_it_understood() -> None:
    reply = ENGINE.respond(IDLE, "pay $45 for INV-1001").reply
    assert "Got it: **$45.00** for invoice **INV-1001**." in reply


def test_pay_offers_the_card_form() -> None:
    decision = ENGINE.respond(IDLE, "pay $45 for INV-1001")
    assert decision.next_step is NextStep.OFFER_CARD_FORM
    assert messages.OFFER_CARD_FORM in decision.reply


def test_pay_without_details_still_offers_the_card_form() -> None:
    decision = ENGINE.respond(IDLE, "I want to pay")
    assert decision.next_step is NextStep.OFFER_CARD_FORM
    assert "Got it" not in decision.reply


def test_pay_summary_merges_new_slots_into_the_conversation_so_far() -> None:
    collecting = IDLE.evolve(state=State.COLLECTING, slots=slots("45", "USD"))
    reply = ENGINE.respond(collecting, "invoice 1001").reply
    assert "**$45.00** for invoice **1001**" in reply


def test_pay_after_a_completed_payment_ignores_its_old_slots() -> None:
    reply = ENGINE.respond(COMPLETED, "pay invoice 77").reply
    assert "$45.00" not in reply


def test_decision_slots_hold_only_what_the_message_adds() -> None:
    collecting = IDLE.evolve(state=State.COLLECTING, slots=slots("45", "USD"))
    assert ENGINE.respond(collecting, "invoice 1001").slots == slots(reference="1001")


def test_confirm_while_the_card_form_is_offered_offers_it_again() -> None:
    decision = ENGINE.respond(OFFERED, "yes")
    assert (decision.intent, decision.next_step) == (Intent.CONFIRM, NextStep.OFFER_CARD_FORM)


def test_confirm_with_no_card_form_on_offer_asks() -> None:
    assert ENGINE.respond(IDLE, "ok").next_step is NextStep.ASK


def test_help_proposes_the_help_step() -> None:
    decision = ENGINE.respond(IDLE, "help")
    assert (decision.reply, decision.next_step) == (messages.HELP_TURN, NextStep.HELP)


def test_status_when_idle_says_nothing_is_in_progress() -> None:
    decision = ENGINE.respond(IDLE, "status")
    assert decision.next_step is NextStep.ASK
    assert "No payment in progress" in decision.reply


def test_status_while_awaiting_the_card_names_the_payment() -> None:
    assert "**$45.00** for invoice **INV-1001**" in ENGINE.respond(OFFERED, "where are we?").reply


def test_status_after_completion_names_the_card_by_brand_and_last_four_only() -> None:
    reply = ENGINE.respond(COMPLETED, "did it work?").reply
    assert "Visa \u2022\u2022\u2022\u2022 4242" in reply
    assert "pm_card_visa" not in reply


def test_cancel_proposes_cancel_and_says_nothing_was_saved() -> None:
    decision = ENGINE.respond(OFFERED, "cancel")
    assert (decision.next_step, decision.reply) == (NextStep.CANCEL, messages.CANCELLED)


def test_bare_no_while_the_card_form_is_offered_cancels() -> None:
    assert ENGINE.respond(OFFERED, "no").next_step is NextStep.CANCEL


def test_bare_no_with_nothing_on_offer_does_not_cancel() -> None:
    assert ENGINE.respond(IDLE, "no").next_step is NextStep.ASK


def test_other_asks_with_a_nudge_towards_an_example() -> None:
    decision = ENGINE.respond(IDLE, "what's the weather like")
    assert (decision.intent, decision.next_step) == (Intent.OTHER, NextStep.ASK)
    assert "`$45 for invoice INV-1001`" in decision.reply


def test_other_mid_payment_recaps_without_promising_a_button() -> None:
    reply = ENGINE.respond(OFFERED, "hmm").reply
    assert "*$45.00*" in reply
    assert "button below" not in reply


def test_redacted_card_number_gets_a_warning() -> None:
    reply = ENGINE.respond(IDLE, f"my card is {REDACTED}").reply
    assert reply.startswith(messages.PAN_WARNING)
    assert "Please don't paste card numbers in chat" in reply


def test_redacted_card_number_gets_the_card_form_offered() -> None:
    decision = ENGINE.respond(IDLE, f"{REDACTED} 08/29")
    assert (decision.intent, decision.next_step) == (Intent.PAY, NextStep.OFFER_CARD_FORM)


def test_redacted_card_number_in_a_cancel_still_cancels_with_the_warning() -> None:
    decision = ENGINE.respond(OFFERED, f"stop, {REDACTED}")
    assert decision.next_step is NextStep.CANCEL
    assert messages.PAN_WARNING in decision.reply


@pytest.mark.parametrize(
    "text",
    [
        "zebra-crossing quokka",
        "hi quokka",
        "pay quokka $45 for INV-1001",
        "yes quokka",
        "status quokka",
        "help quokka",
        "cancel quokka",
        f"quokka {REDACTED}",
    ],
)
@pytest.mark.parametrize("session", [IDLE, OFFERED, COMPLETED], ids=["idle", "offered", "done"])
def test_replies_never_echo_the_users_words(text: str, session: Session) -> None:
    assert "quokka" not in ENGINE.respond(session, text).reply.lower()


# Amounts exactly as typed ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pay 1 000 USD", (Decimal("1000"), "USD")),
        ("1\u00a0000 €", (Decimal("1000"), "EUR")),
        ("1\u202f000 €", (Decimal("1000"), "EUR")),
        ("2 500 CHF", (Decimal("2500"), "CHF")),
        ("$1 250 000.50", (Decimal("1250000.50"), "USD")),
        ("USD 2 500", (Decimal("2500"), "USD")),
        ("1.250 KWD", (Decimal("1.250"), "KWD")),
        ("BHD 0.5", (Decimal("0.5"), "BHD")),
        ("¥500", (Decimal("500"), "JPY")),
        ("¥500.00", (Decimal("500.00"), "JPY")),
    ],
)
def test_extract_amount_reads_grouped_and_per_currency_amounts_whole(
    text: str, expected: tuple[Decimal, str]
) -> None:
    assert extract_amount(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "1 0000 USD",  # a group of four is no thousands group
        "1 000,000 USD",  # mixed separators
        "1 000,50 €",  # a decimal comma after a grouped number
        "pay 415 555 0100",
    ],
)
def test_extract_amount_refuses_a_number_it_would_have_to_truncate(text: str) -> None:
    assert extract_amount(text) is None


@pytest.mark.parametrize(
    "text", ["-$45", "$-45", "-45 USD", "USD -45", "\u221245 €", "+$45", "pay -45"]
)
def test_a_signed_amount_is_refused_with_a_reason(text: str) -> None:
    assert extract_amount(text) is None
    assert amount_refusal(text) == messages.AMOUNT_SIGNED


@pytest.mark.parametrize("text", ["INV-45 USD", "invoice 1001 - $45", "$45 - $5"])
def test_a_dash_that_is_no_sign_does_not_refuse_the_amount(text: str) -> None:
    assert amount_refusal(text) == ""


@pytest.mark.parametrize(
    ("text", "currency", "places"),
    [
        ("¥500.50", "JPY", 0),
        ("500.5 KRW", "KRW", 0),
        ("1.2345 KWD", "KWD", 3),
        ("$4.505", "USD", 2),
    ],
)
def test_an_amount_with_more_decimals_than_its_currency_is_refused_not_rounded(
    text: str, currency: str, places: int
) -> None:
    assert extract_amount(text) is None
    assert amount_refusal(text) == messages.amount_decimals(currency, places)


def test_the_engine_answers_a_signed_amount_by_asking_again() -> None:
    decision = ENGINE.respond(IDLE, "pay -$45 for INV-1001")
    assert decision.next_step is NextStep.ASK
    assert messages.AMOUNT_SIGNED in decision.reply
    assert decision.slots == slots(reference="INV-1001")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("500.50", "JPY", "¥500.50"),  # kept before decimals were checked: shown, not rounded
        ("1.250", "KWD", "1.250 KWD"),
        ("12.345", None, "12.345"),
        ("45.1", "USD", "$45.10"),
    ],
)
def test_format_amount_shows_exactly_what_is_stored(
    amount: str, currency: str | None, expected: str
) -> None:
    assert format_amount(Decimal(amount), currency) == expected


def test_text_beyond_the_parsed_cap_names_nothing() -> None:
    assert parse("x" * MAX_PARSED_CHARS + " pay $45 for INV-1001") == Parsed(Intent.OTHER, NONE)
