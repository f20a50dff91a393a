"""The deterministic dialogue engine: keyword intents, regex slots, templated replies.

Intent priority when several match, most important first:
cancel > help > status > pay > confirm > greet > other.
Stopping must always win; a question about how things work or where they stand
deserves an answer before anything moves on; an amount or reference beats a
bare "ok"; a greeting only counts when nothing else was said.

All matching is on word boundaries: "stopwatch" is not "stop", "this" is not
"hi", "paypal" is not "pay". "paying" on its own is not a pay intent ("paying
attention"); a message that names an amount or a reference is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot import messages
from bot.cancellation import is_cancel
from bot.cards import REDACTED
from bot.models import MAX_TURN_CHARS, Decision, Intent, NextStep, Session, Slots, State
from bot.money import ISO_CURRENCIES, MAX_AMOUNT, decimal_places, format_amount, within_limits

__all__ = [
    "ISO_CURRENCIES",
    "MAX_PARSED_CHARS",
    "Parsed",
    "RuleEngine",
    "amount_refusal",
    "extract_amount",
    "extract_email",
    "extract_reference",
    "extract_slots",
    "parse",
]

MAX_REFERENCE_LENGTH = 64
MAX_PARSED_CHARS = MAX_TURN_CHARS
"""How much of one message is parsed: text beyond it is never read, so it names no
intent, slot or cancel word (a person who writes more is answered on its beginning)."""

_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_WORDS = {
    "dollar": "USD",
    "buck": "USD",
    "euro": "EUR",
    "pound": "GBP",
    "quid": "GBP",
    "yen": "JPY",
}

_ISO = "|".join(sorted(ISO_CURRENCIES))
_GROUP = "[ \u00a0\u202f]"  # a space, no-break space or narrow no-break space between thousands
_SIGN = "[-+\u2212]"
# 1,250.00 | 1 250.00 | 1250.00 | 45; never a digit run glued to a letter, dash or slash
# ("INV-1001", "A45"), never the "12" of "12,50" or "45.123", never the "1" of "1 000".
_DIGITS = (
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?"
    rf"|\d{{1,3}}(?P<group>{_GROUP})\d{{3}}(?:(?P=group)\d{{3}})*(?:\.\d+)?"
    r"|\d+(?:\.\d+)?)"
    rf"(?![\w]|[.,]\d|{_GROUP}\d)"
)
# A number, signed or not, that is no group of a number before it ("the 500 of 2 500").
_NUM = rf"(?<![\w.,/#+\u2212-])(?P<sign>{_SIGN})?(?<!\d{_GROUP}){_DIGITS}"
_MARKED = (
    re.compile(
        rf"(?:(?<![\w.,/#+\u2212-])(?P<sign>{_SIGN}))?(?P<sym>[$€£¥])\s?"
        rf"(?P<signed>{_SIGN})?{_DIGITS}(?:\s?(?P<iso>{_ISO})\b)?",
        re.I,
    ),
    re.compile(rf"{_NUM}\s?(?P<sym>[$€£¥])"),
    re.compile(rf"\b(?P<iso>{_ISO})\s?(?P<sign>{_SIGN})?{_DIGITS}", re.I),
    re.compile(rf"{_NUM}\s?(?P<iso>{_ISO})\b", re.I),
    re.compile(rf"{_NUM}\s?(?P<word>dollar|buck|euro|pound|quid|yen)s?\b", re.I),
)
# "pay 45", "amount: 45", "the amount is 50", "for 45": a bare number is an
# amount only right after these words; elsewhere it may be an invoice number.
# Possessive blanks: giving one back can never help a number match, only cost time.
_AFTER_KEYWORD = re.compile(rf"\b(?:pay|amount|for)(?:\s++(?:is|of))?\s*+[:=]?\s*+{_NUM}", re.I)
_DECIMAL = re.compile(
    rf"(?<![\w.,/#+\u2212-])(?P<sign>{_SIGN})?(?<!\d{_GROUP})"
    r"(?P<num>\d{1,3}(?:,\d{3})+\.\d{2}"
    rf"|\d{{1,3}}(?P<group>{_GROUP})\d{{3}}(?:(?P=group)\d{{3}})*\.\d{{2}}|\d+\.\d{{2}})"
    rf"(?![\w]|[.,]\d|{_GROUP}\d)"
)
_LONE_MARKER = re.compile(
    rf"(?P<sym>[$€£¥])|\b(?P<iso>{_ISO})\b|\b(?P<word>dollar|buck|euro|pound|quid|yen)s?\b",
    re.I,
)

_IDENT = r"(?P<id>[A-Za-z0-9]+(?:[-/_][A-Za-z0-9]+)*)(?![\w/-]|[.,]\d)"
_REFERENCES = (
    re.compile(
        r"\b(?:invoice|inv|ref|reference)\b\.?(?:\s*(?:no\.?|number|num|nr\.?|is)(?!\w))?"
        rf"[\s:#]*{_IDENT}",
        re.I,
    ),
    # A code that names itself: "INV-1001", "PO-55", "ABC-7", "ref-7".
    re.compile(rf"(?<![\w-])(?=(?:[A-Z]{{2,6}}|(?i:inv|po|ref))-){_IDENT}"),
)
_EMAIL = re.compile(
    r"(?<![\w.%+-])(?P<local>[A-Za-z0-9._%+-]+)@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
    r"\.[A-Za-z]{2,})\b"
)

_KEYWORD_INTENTS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    (
        Intent.HELP,
        re.compile(
            r"\bhelp\b|\bhow\s+(?:does|do)\s+(?:this|it|you)\s+work\b|\bwhat\s+can\s+you\s+do\b"
            r"|\bhow\s+do\s+i\b|\bwhat\s+(?:is|are)\s+(?:this|you)\b"
            # Only question marks and punctuation: possessive, or it backtracks cubically.
            r"|^(?=[^\w?]*+\?)\W*+$",
            re.I,
        ),
    ),
    (
        Intent.STATUS,
        re.compile(
            r"\bstatus\b|\bwhere\s+are\s+we\b|\bis\s+it\s+done\b|\bany\s+updates?\b"
            r"|\bdid\s+(?:it|that|this|the\s+payment|my\s+card)\s+(?:work|go\s+through)\b",
            re.I,
        ),
    ),
    (
        Intent.PAY,
        re.compile(
            r"\b(?:pay|pays|payment|payments|invoice|invoices|card|cards|settle|checkout)\b",
            re.I,
        ),
    ),
)
_AFFIRMATIVE = (
    r"(?:yes|yeah|yea|yep|yup|y|ok|okay|k|kk|sure|alright|all\s+right|go\s+ahead|please\s+do"
    r"|do\s+it|let'?s\s+do\s+it|sounds\s+good|confirm|confirmed|correct|right|that'?s\s+right"
    r"|👍|👌|🆗|✅|✔️?)"
)
_CONFIRM = re.compile(
    rf"^\s*{_AFFIRMATIVE}(?:[\s,]+(?:{_AFFIRMATIVE}|please|pls|thanks|thank\s+you))*[\s.!]*$",
    re.I,
)
_GREET = re.compile(
    r"^\W*(?:hi|hello|hey|heya|hiya|howdy|yo|greetings|morning"
    r"|good\s+(?:morning|afternoon|evening|day))\b",
    re.I,
)

_ACTIVE = frozenset({State.COLLECTING, State.AWAITING_CARD, State.FAILED})
_ANSWERED_DESPITE_REFUSAL = frozenset({Intent.CANCEL, Intent.HELP, Intent.STATUS})
_EXAMPLE = "`$45 for invoice INV-1001`"
_INTRO = (
    "Hi! 👋 I'm paybot. I collect payment cards safely: you type the card into a secure "
    "form, and the number never appears in this chat."
)
_ASK = f"Tell me what you'd like to pay, for example {_EXAMPLE}."
_READY = "When you're ready, say **pay** and I'll show the secure button for your card."
_NUDGE = (
    f"I can take a card payment for you. Tell me the amount and invoice, for example {_EXAMPLE}, "
    "or type `help`."
)


@dataclass(frozen=True)
class Parsed:
    """What one message says: its intent, the slots it names, and any amount refused."""

    intent: Intent
    slots: Slots
    refusal: str = ""
    """Why an amount the message names was not taken (a sign, too many decimals), or ""."""


def parse(text: str, *, card_form_offered: bool = False) -> Parsed:
    """The intent and slots of one (already redacted) message; see `MAX_PARSED_CHARS`.

    Args:
        card_form_offered: the secure-entry button is the bot's latest offer
            (a bare "no" then cancels).
    """
    plain = _readable(text).replace("\u2019", "'")
    found = _read_amount(plain)
    slots = _slots(plain, found)
    refusal = found if isinstance(found, str) else ""
    return Parsed(_intent(plain, slots, card_form_offered=card_form_offered), slots, refusal)


def extract_slots(text: str) -> Slots:
    """Every slot `text` names; the redaction placeholder names none."""
    plain = _readable(text)
    return _slots(plain, _read_amount(plain))


def _readable(text: str) -> str:
    """The part of `text` that is parsed, without the redaction placeholder."""
    return text[:MAX_PARSED_CHARS].replace(REDACTED, " ")


def _slots(plain: str, found: _Amount | str | None) -> Slots:
    amount = found if isinstance(found, tuple) else None
    return Slots(
        amount=amount[0] if amount else None,
        currency=amount[1] if amount else None,
        reference=extract_reference(plain),
        email=extract_email(plain),
    )


def _intent(text: str, slots: Slots, *, card_form_offered: bool) -> Intent:
    if is_cancel(text, card_form_offered=card_form_offered):
        return Intent.CANCEL
    for intent, pattern in _KEYWORD_INTENTS:
        if pattern.search(text):
            return intent
    if slots.amount is not None or slots.reference is not None:
        return Intent.PAY
    if _CONFIRM.match(text):
        return Intent.CONFIRM
    if _GREET.match(text):
        return Intent.GREET
    return Intent.OTHER


# Slots --------------------------------------------------------------------

_Amount = tuple[Decimal, str | None]


def _searchable(text: str) -> str:
    """`text` without the placeholder and emails: neither names an amount."""
    text = text.replace(REDACTED, " ")
    return _EMAIL.sub(" ", text)


def _reference_matches(text: str) -> Iterator[re.Match[str]]:
    found = [m for pattern in _REFERENCES for m in pattern.finditer(text)]
    for match in sorted(found, key=lambda m: m.start()):
        if any(c.isdigit() for c in match["id"]) and len(match["id"]) <= MAX_REFERENCE_LENGTH:
            yield match


def extract_reference(text: str) -> str | None:
    """The invoice or reference identifier, uppercased: "invoice #1001" -> "1001"."""
    match = next(_reference_matches(_searchable(_readable(text))), None)
    return match["id"].upper() if match else None


def extract_email(text: str) -> str | None:
    """The first email address in `text`, its domain lowercased."""
    match = _EMAIL.search(_readable(text))
    if match is None or len(match[0]) > 254:
        return None
    return f"{match['local']}@{match['domain'].lower()}"


def extract_amount(text: str) -> _Amount | None:
    """(amount, ISO currency or None) when `text` names an amount of money we can take.

    A bare number counts only with a decimal point or right after "pay",
    "amount" or "for"; otherwise it may be an invoice number. Thousands may be
    grouped by commas, spaces, no-break or narrow no-break spaces.
    """
    found = _read_amount(_readable(text))
    return found if isinstance(found, tuple) else None


def amount_refusal(text: str) -> str:
    """What to tell a person whose amount was refused (signed, too many decimals), or ""."""
    found = _read_amount(_readable(text))
    return found if isinstance(found, str) else ""


def _read_amount(text: str) -> _Amount | str | None:
    """The first amount `text` names, or why it cannot be taken, or None if it names none.

    Taken exactly as typed or refused: never rounded, truncated or stripped of its sign.
    """
    plain = _searchable(text)
    taken = [m.span("id") for m in _reference_matches(plain)]
    for match, currency in _amount_candidates(plain):
        if _overlaps(match.span("num"), taken):
            continue
        if any(match.groupdict().get(name) for name in ("sign", "signed")):
            return messages.AMOUNT_SIGNED
        value = _amount_value(match["num"])
        if value is None:
            continue
        if not within_limits(value, currency):
            return messages.amount_decimals(currency, decimal_places(currency))
        return value, currency
    return None


def _amount_candidates(text: str) -> Iterator[tuple[re.Match[str], str | None]]:
    """Numbers with a currency marker first (by position), then keyword and decimal ones."""
    marked = sorted(
        (m for pattern in _MARKED for m in pattern.finditer(text)), key=lambda m: m.start()
    )
    for match in marked:
        yield match, _currency(match)
    elsewhere = _LONE_MARKER.search(text)
    fallback = _currency(elsewhere) if elsewhere else None
    for pattern in (_AFTER_KEYWORD, _DECIMAL):
        for match in pattern.finditer(text):
            yield match, fallback


def _currency(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    if groups.get("iso"):
        # Case-insensitive matching lets look-alikes through ("İNR", "\u212aRW"): keep
        # only codes that really are on the list once upper-cased.
        code = str(groups["iso"]).upper()
        return code if code in ISO_CURRENCIES else None
    if groups.get("sym"):
        return _SYMBOLS[groups["sym"]]
    return _WORDS[str(groups["word"]).lower()]


def _amount_value(number: str) -> Decimal | None:
    """The number without its thousands separators, when it is above zero and in range."""
    try:
        value = Decimal(re.sub(r"[,\s]", "", number))
    except InvalidOperation:
        return None
    return value if value.is_finite() and 0 < value < MAX_AMOUNT else None


def _overlaps(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


# Replies ------------------------------------------------------------------


def _summary(slots: Slots, lead: str = "Got it:") -> str:
    """ "Got it: **$45.00** for invoice **INV-1001**." from the slots, never the user's text."""
    parts = []
    if slots.amount is not None:
        parts.append(f"**{format_amount(slots.amount, slots.currency)}**")
    if slots.reference is not None:
        parts.append(f"for invoice **{slots.reference}**")
    if slots.email is not None:
        parts.append(f"(receipt to {slots.email})")
    return f"{lead} {' '.join(parts)}." if parts else ""


def _in_progress(session: Session, slots: Slots) -> bool:
    if session.state not in _ACTIVE:
        return False
    named = slots.amount is not None or slots.reference is not None
    return named or session.card_form_offered or session.state is State.AWAITING_CARD


def _lines(*parts: str) -> str:
    return "\n".join(part for part in parts if part)


_Reply = tuple[str, NextStep]


def _offer(session: Session, slots: Slots) -> _Reply:
    return _lines(_summary(slots), messages.OFFER_CARD_FORM), NextStep.OFFER_CARD_FORM


def _greet(session: Session, slots: Slots) -> _Reply:
    if _in_progress(session, slots):
        offer = _lines(_summary(slots, "You're paying"), messages.OFFER_CARD_FORM)
        return _lines(_INTRO, offer), NextStep.OFFER_CARD_FORM
    return _lines(_INTRO, _ASK), NextStep.ASK


def _confirm(session: Session, slots: Slots) -> _Reply:
    if session.card_form_offered:
        offer = _lines("Great.", _summary(slots, "You're paying"), messages.OFFER_CARD_FORM)
        return offer, NextStep.OFFER_CARD_FORM
    if _in_progress(session, slots):
        return _lines(_summary(slots, "So far:"), _READY), NextStep.ASK
    return _lines("Okay.", _ASK), NextStep.ASK


def _help(session: Session, slots: Slots) -> _Reply:
    return messages.HELP_TURN, NextStep.HELP


def _status(session: Session, slots: Slots) -> _Reply:
    return messages.status(session), NextStep.ASK


def _cancel(session: Session, slots: Slots) -> _Reply:
    return messages.CANCELLED, NextStep.CANCEL


def _other(session: Session, slots: Slots) -> _Reply:
    if _in_progress(session, slots):
        return _lines(_summary(slots, "So far:"), _READY), NextStep.ASK
    return _lines(_summary(slots), _NUDGE), NextStep.ASK


_REPLIES: dict[Intent, Callable[[Session, Slots], _Reply]] = {
    Intent.GREET: _greet,
    Intent.PAY: _offer,
    Intent.CONFIRM: _confirm,
    Intent.HELP: _help,
    Intent.STATUS: _status,
    Intent.CANCEL: _cancel,
    Intent.OTHER: _other,
}


def _known(session: Session) -> Slots:
    """The slots still in play: a finished or idle conversation starts afresh."""
    return session.slots if session.state in _ACTIVE else Slots()


class RuleEngine:
    """The default `DialogueEngine`: deterministic, no model, replies from templates only."""

    def respond(self, session: Session, text: str) -> Decision:
        """Propose a reply and next step; `Decision.slots` holds only what `text` adds."""
        parsed = parse(text, card_form_offered=session.card_form_offered)
        slots = _known(session).merged(parsed.slots)
        reply, step = _REPLIES[parsed.intent](session, slots)
        intent = parsed.intent
        if parsed.refusal and intent not in _ANSWERED_DESPITE_REFUSAL:
            # Say why the amount was not taken and ask again; never offer a form for it.
            reply, step = _lines(parsed.refusal, _summary(slots, "So far:")), NextStep.ASK
        if REDACTED in text:
            # Whoever pastes a card number is trying to pay; unless they are
            # also cancelling, point them at the form that keeps it out of chat.
            if intent is not Intent.CANCEL:
                intent = Intent.PAY
                reply, step = _offer(session, slots)
            reply = _lines(messages.PAN_WARNING, reply)
        return Decision(reply=reply, intent=intent, next_step=step, slots=parsed.slots)
