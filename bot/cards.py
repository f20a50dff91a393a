"""Card validation and card-number (PAN) detection in free text. Pure: no I/O.

Digits are any unicode decimal digit (`str.isdecimal`). Inside a card number,
consecutive digits may be separated by whitespace of any length, at most three
other separators (dashes, dots) and any number of zero-width characters.

A number may also be split across a person's messages, or followed by its CVC
and expiry once it was removed: `screen_turn` reads a new message together with
the person's recent turns.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from bot.errors import CardRejected

__all__ = [
    "DETAILS_REDACTED",
    "REDACTED",
    "VALID_LENGTHS",
    "Brand",
    "ScreenedTurn",
    "contains_pan",
    "detect_brand",
    "display_name",
    "find_pans",
    "looks_like_card_details",
    "luhn_valid",
    "mask",
    "may_continue_card_data",
    "normalize_pan",
    "pans_across_turns",
    "parse_expiry",
    "redact_pans",
    "screen_turn",
    "validate_cvc",
    "validate_name",
    "validate_number",
]

REDACTED = "[card number removed]"
DETAILS_REDACTED = "[card details removed]"
"""What stands for a CVC or expiry typed right after a card number was removed."""
MAX_NAME_LENGTH = 100
MAX_YEARS_AHEAD = 20
MIN_PAN_LENGTH = 13

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
_SEPARATOR_MARKS = frozenset("-\u2010\u2011\u2012\u2013\u2014.")
_WIDE_MARKS = frozenset("\u2212\u30fc\uff0e\u3002\uff61")
"""Minus sign, the katakana prolonged sound mark (an IME's dash), wide full stops."""
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_EXPIRY_HOW = "Type the expiry as MM/YY, for example 08/27."


class Brand(StrEnum):
    """Card brands, valued as Stripe's brand codes."""

    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    DINERS = "diners"
    JCB = "jcb"
    UNIONPAY = "unionpay"


_DISPLAY_NAMES = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "Amex",
    "american express": "Amex",
    "discover": "Discover",
    "diners": "Diners Club",
    "diners club": "Diners Club",
    "jcb": "JCB",
    "unionpay": "UnionPay",
    "unknown": "Card",
    "": "Card",
}

VALID_LENGTHS: Mapping[Brand, frozenset[int]] = MappingProxyType(
    {
        Brand.VISA: frozenset({13, 16, 19}),
        Brand.MASTERCARD: frozenset({16}),
        Brand.AMEX: frozenset({15}),
        Brand.DISCOVER: frozenset(range(16, 20)),
        Brand.DINERS: frozenset({14, 16}),
        Brand.JCB: frozenset(range(16, 20)),
        Brand.UNIONPAY: frozenset(range(16, 20)),
    }
)

# (lowest prefix, highest prefix, brand), first match wins: the Discover
# co-branded range must be tried before UnionPay's broader 62.
_IIN_RANGES: tuple[tuple[str, str, Brand], ...] = (
    ("622126", "622925", Brand.DISCOVER),
    ("4", "4", Brand.VISA),
    ("51", "55", Brand.MASTERCARD),
    ("2221", "2720", Brand.MASTERCARD),
    ("34", "34", Brand.AMEX),
    ("37", "37", Brand.AMEX),
    ("6011", "6011", Brand.DISCOVER),
    ("644", "649", Brand.DISCOVER),
    ("65", "65", Brand.DISCOVER),
    ("300", "305", Brand.DINERS),
    ("36", "36", Brand.DINERS),
    ("38", "39", Brand.DINERS),
    ("3528", "3589", Brand.JCB),
    ("62", "62", Brand.UNIONPAY),
)


def display_name(brand: str) -> str:
    """How a brand code (ours or Stripe's) is shown to people: "amex" -> "Amex"."""
    known = _DISPLAY_NAMES.get(brand.strip().lower())
    if known is not None:
        return known
    spaced = brand.strip().replace("_", " ")
    return spaced[:1].upper() + spaced[1:]


def _is_separator(char: str) -> bool:
    # Any dash (Unicode's Pd), and the look-alikes keyboards and IMEs type between groups.
    return (
        char in _SEPARATOR_MARKS
        or char.isspace()
        or unicodedata.category(char) == "Pd"
        or char in _WIDE_MARKS
    )


def _ascii_digit(char: str) -> str:
    return str(unicodedata.decimal(char))


def normalize_pan(text: str) -> str:
    """The card number as ASCII digits, with separators and zero-width characters removed."""
    digits: list[str] = []
    for char in text:
        if char.isdecimal():
            digits.append(_ascii_digit(char))
        elif not (_is_separator(char) or char in _ZERO_WIDTH):
            raise CardRejected(
                "number",
                "A card number has only digits (spaces and dashes are fine) — "
                "please check it and type it again.",
            )
    if not digits:
        raise CardRejected("number", "Please type the long number on the front of your card.")
    return "".join(digits)


def luhn_valid(digits: str) -> bool:
    """True when `digits` (ASCII digits only) pass the Luhn checksum."""
    if not digits or not (digits.isascii() and digits.isdigit()):
        return False
    total = sum(
        _DOUBLED[int(d)] if position % 2 else int(d) for position, d in enumerate(reversed(digits))
    )
    return total % 10 == 0


def detect_brand(digits: str) -> Brand | None:
    """The brand whose issuer ranges cover the leading digits, or None."""
    for low, high, brand in _IIN_RANGES:
        prefix = digits[: len(low)]
        if len(prefix) == len(low) and low <= prefix <= high:
            return brand
    return None


def _describe_lengths(lengths: frozenset[int]) -> str:
    ordered = sorted(lengths)
    if len(ordered) > 2 and ordered[-1] - ordered[0] == len(ordered) - 1:
        return f"{ordered[0]} to {ordered[-1]}"
    if len(ordered) == 1:
        return str(ordered[0])
    return ", ".join(map(str, ordered[:-1])) + f" or {ordered[-1]}"


def validate_number(text: str) -> tuple[str, Brand]:
    """The card number as ASCII digits and its brand, or CardRejected("number")."""
    digits = normalize_pan(text)
    brand = detect_brand(digits)
    if brand is None:
        raise CardRejected(
            "number",
            "We accept Visa, Mastercard, Amex, Discover, Diners Club, JCB and UnionPay, "
            "and this number doesn't match any of them — please check it and type it again.",
        )
    lengths = VALID_LENGTHS[brand]
    if len(digits) not in lengths:
        raise CardRejected(
            "number",
            f"{display_name(brand)} card numbers have {_describe_lengths(lengths)} digits, "
            f"but this one has {len(digits)} — please check it and type it again.",
        )
    if not luhn_valid(digits):
        raise CardRejected(
            "number",
            "That card number doesn't look right — please check the digits and type it again.",
        )
    return digits, brand


_EXPIRY_SPLIT = re.compile(r"([0-9]{1,2})[/.\-\u2010-\u2014]([0-9]{2}|[0-9]{4})")
_EXPIRY_COMPACT = re.compile(r"([0-9]{2})([0-9]{2})")


def parse_expiry(text: str, *, now: datetime) -> tuple[int, int]:
    """(month, four-digit year) of a card still valid at `now`, or CardRejected("expiry").

    Args:
        now: timezone-aware; a card is valid through the last moment (UTC) of its month.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("parse_expiry needs a timezone-aware `now`")
    today = now.astimezone(UTC)
    compact = "".join(
        _ascii_digit(c) if c.isdecimal() else c
        for c in text
        if not (c.isspace() or c in _ZERO_WIDTH)
    )
    match = _EXPIRY_SPLIT.fullmatch(compact) or _EXPIRY_COMPACT.fullmatch(compact)
    if match is None:
        raise CardRejected("expiry", _EXPIRY_HOW)
    month, year_text = int(match[1]), match[2]
    year = int(year_text)
    if len(year_text) == 2:
        year += today.year // 100 * 100
        if year < today.year - 50:  # "05" typed in 2095 means 2105
            year += 100
    if not 1 <= month <= 12:
        raise CardRejected("expiry", "The expiry month must be 01–12, as MM/YY, e.g. 08/27.")
    if (year, month) < (today.year, today.month):
        raise CardRejected(
            "expiry",
            f"That card expired in {month:02d}/{year} — please use a card that is still valid, "
            "or check the date on the card.",
        )
    if (year, month) > (today.year + MAX_YEARS_AHEAD, today.month):
        raise CardRejected(
            "expiry",
            f"That expiry date is more than {MAX_YEARS_AHEAD} years away — please check it. "
            + _EXPIRY_HOW,
        )
    return month, year


def validate_cvc(text: str, brand: Brand) -> str:
    """The security code as ASCII digits: 4 for Amex, 3 for the rest."""
    code = "".join(c for c in text if not (c.isspace() or c in _ZERO_WIDTH))
    if brand is Brand.AMEX:
        expected, where = 4, "on the front"
    else:
        expected, where = 3, "on the back"
    if len(code) != expected or not code.isdecimal():
        raise CardRejected(
            "cvc",
            f"{display_name(brand)} cards have a {expected}-digit security code {where} — "
            f"please type those {expected} digits.",
        )
    return "".join(_ascii_digit(c) for c in code)


def validate_name(text: str) -> str:
    """The cardholder name, stripped: 1–100 characters with a letter and no card number."""
    name = text.strip()
    if not name:
        raise CardRejected("name", "Please type the cardholder's name as it appears on the card.")
    if contains_pan(name) or _has_card_length_run(name):
        raise CardRejected(
            "name",
            "That looks like a card number — please type the cardholder's name here "
            "and the card number in the card number field.",
        )
    if len(name) > MAX_NAME_LENGTH:
        raise CardRejected(
            "name",
            f"The cardholder name can be at most {MAX_NAME_LENGTH} characters — "
            "please type it as it appears on the card.",
        )
    if not any(c.isalpha() for c in name):
        raise CardRejected(
            "name",
            "The cardholder name needs letters — type it as it appears on the card, e.g. Jane Doe.",
        )
    return name


def _has_card_length_run(text: str) -> bool:
    """True when `text` holds 13 or more digits in one run, card number or not."""
    if not _MAYBE_PAN.search(text):
        return False
    return any(len(digits) >= MIN_PAN_LENGTH for _, _, digits in _digit_runs(text))


def mask(brand: str, last4: str) -> str:
    """`"Visa •••• 4242"`; never more than the last four digits."""
    if len(last4) != 4 or not (last4.isascii() and last4.isdigit()):
        raise ValueError("last4 must be exactly four ASCII digits")
    return f"{display_name(brand)} \u2022\u2022\u2022\u2022 {last4}"


_MAX_MARKS = 3
"""Dashes or dots allowed between two digits of one run ("4242 - - 4242"). Whitespace
costs nothing: a run of it, however long ("4242      4242", or a line break), is one gap."""


def _next_digit_in_run(text: str, index: int) -> int:
    """Index of the digit that continues a run after the gap starting at `index`, or -1."""
    marks = 0
    while index < len(text):
        char = text[index]
        if char.isdecimal():
            return index
        if char.isspace() or char in _ZERO_WIDTH:
            pass
        elif _is_separator(char) and marks < _MAX_MARKS:
            marks += 1
        else:
            return -1
        index += 1
    return -1


def _digit_runs(text: str) -> Iterator[tuple[int, int, list[int]]]:
    """Each maximal candidate run as (first digit index, last digit index + 1, digits)."""
    index = 0
    while index < len(text):
        if not text[index].isdecimal():
            index += 1
            continue
        start, end, digits = index, index, []
        while index >= 0:
            digits.append(unicodedata.decimal(text[index]))
            end = index + 1
            index = _next_digit_in_run(text, end)
        yield start, end, digits
        index = end


def _has_luhn_window(digits: Sequence[int]) -> bool:
    """True when some 13–19 contiguous digits pass Luhn; O(len) via prefix sums."""
    # Luhn leaves the check digit (the window's last) undoubled and alternates
    # leftwards, so one prefix sum per parity of the last index covers all windows.
    even_last = [0]
    odd_last = [0]
    for position, d in enumerate(digits):
        plain, doubled = d, _DOUBLED[d]
        even_last.append(even_last[-1] + (plain if position % 2 == 0 else doubled))
        odd_last.append(odd_last[-1] + (doubled if position % 2 == 0 else plain))
    for end in range(13, len(digits) + 1):
        sums = even_last if (end - 1) % 2 == 0 else odd_last
        for length in range(13, min(19, end) + 1):
            if (sums[end] - sums[end - length]) % 10 == 0:
                return True
    return False


# A cheap first pass in the regex engine: 13 digits with nothing but non-word characters
# (or a separator that counts as a letter, U+30FC) between them. Every run the scanner
# below could flag matches this, so text without a match has no PAN.
_WORDLIKE_SEPARATORS = "".join(sorted(c for c in _WIDE_MARKS if c.isalnum()))
_MAYBE_PAN = re.compile(rf"\d(?:(?:[^\w]|[{_WORDLIKE_SEPARATORS}])*\d){{12}}")


def find_pans(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of every digit run in `text` that may hold a card number."""
    if not _MAYBE_PAN.search(text):
        return []
    return [(start, end) for start, end, digits in _digit_runs(text) if _has_luhn_window(digits)]


def contains_pan(text: str) -> bool:
    """True when `text` holds anything that may be a card number."""
    if not _MAYBE_PAN.search(text):
        return False
    return any(_has_luhn_window(digits) for _, _, digits in _digit_runs(text))


def redact_pans(text: str, replacement: str = REDACTED) -> str:
    """`text` with every possible card number replaced; everything else untouched."""
    pieces: list[str] = []
    kept_from = 0
    for start, end in find_pans(text):
        pieces += (text[kept_from:start], replacement)
        kept_from = end
    pieces.append(text[kept_from:])
    return "".join(pieces)


def _runs_on(char: str) -> bool:
    return char.isdecimal() or _is_separator(char) or char in _ZERO_WIDTH


def _tail_start(text: str) -> int:
    """Where the end of `text` that a digit run could carry into a next message begins."""
    start = len(text)
    while start > 0 and _runs_on(text[start - 1]):
        start -= 1
    return start


def _digits_only(text: str, low: int, high: int) -> tuple[int, int]:
    """The span narrowed to start and end on a digit; empty when it holds none."""
    while low < high and not text[low].isdecimal():
        low += 1
    while high > low and not text[high - 1].isdecimal():
        high -= 1
    return low, high


def pans_across_turns(turns: Sequence[str]) -> list[list[tuple[int, int]]]:
    """Card-number spans per turn (oldest first), a number allowed to run on across turns.

    Only the end of an earlier turn that is digits and separators can join the next
    one; a turn that is nothing else lets the number reach back one turn further.
    """
    if not turns:
        return []
    pieces = [(len(turns) - 1, 0)]  # (turn, where its part of the joined text starts)
    for turn in range(len(turns) - 2, -1, -1):
        start = _tail_start(turns[turn])
        if start == len(turns[turn]):
            break
        pieces.append((turn, start))
        if start > 0:
            break
    pieces.reverse()
    offsets, position = [], 0
    for turn, start in pieces:
        offsets.append(position - start)
        position += len(turns[turn]) - start + 1
    joined = "\n".join(turns[turn][start:] for turn, start in pieces)
    found: list[list[tuple[int, int]]] = [[] for _ in turns]
    for span_start, span_end in find_pans(joined):
        for (turn, start), offset in zip(pieces, offsets, strict=True):
            low = max(span_start - offset, start)
            high = min(span_end - offset, len(turns[turn]))
            low, high = _digits_only(turns[turn], low, high)
            if low < high:
                found[turn].append((low, high))
    return found


def _replaced(text: str, spans: Sequence[tuple[int, int]]) -> str:
    pieces: list[str] = []
    kept_from = 0
    for start, end in spans:
        pieces += (text[kept_from:start], REDACTED)
        kept_from = end
    pieces.append(text[kept_from:])
    return "".join(pieces)


_CARD_DETAIL_WORDS = re.compile(
    r"(?i)(?<![a-z])(?:cvc2?|cvv2?|csc|cid|security\s?code|exp(?:iry|ires|iration)?|"
    r"valid\s?(?:thru|through|until))(?![a-z])"
)
_EXPIRY_SHAPED = re.compile(
    r"(?<![0-9/.\-])(?:0?[1-9]|1[0-2])\s?[/\-]\s?(?:[0-9]{4}|[0-9]{2})(?![0-9/\-])"
)
_CODE_ALONE = re.compile(r"\s*[0-9]{3,4}\s*")


def looks_like_card_details(text: str) -> bool:
    """True for a CVC or expiry typed as one would: "cvc 737", "exp 12/30", "12/30", "737"."""
    if not any(c.isdecimal() for c in text):
        return False
    plain = "".join(_ascii_digit(c) if c.isdecimal() else c for c in text)
    return bool(
        _CARD_DETAIL_WORDS.search(plain)
        or _EXPIRY_SHAPED.search(plain)
        or _CODE_ALONE.fullmatch(plain)
    )


def may_continue_card_data(text: str) -> bool:
    """True when only the turns before can tell whether `text` is card data.

    That is a message starting with a digit (it may complete a number begun in an
    earlier message) or shaped like a CVC or expiry (it may follow a removed number).
    """
    first = next((c for c in text if not (_is_separator(c) or c in _ZERO_WIDTH)), "")
    return first.isdecimal() or looks_like_card_details(text)


@dataclass(frozen=True)
class ScreenedTurn:
    """A new message read with the person's recent turns: what may be kept and shown."""

    text: str
    earlier: tuple[str, ...]
    """The earlier turns, any part of a card number the new message completes removed."""
    removed: bool
    """Card data was removed, from the new message or from the turns before it."""


def screen_turn(text: str, earlier: Sequence[str] = ()) -> ScreenedTurn:
    """`text` and the person's `earlier` turns (oldest first), card data removed.

    A card number in `text`, or one that `text` completes, replaces the whole message
    (it may hold the CVC and expiry too) and its part of the earlier turns. Right after
    a removed number, a message shaped like a CVC or expiry is removed as well.
    """
    spans = pans_across_turns([*earlier, text])
    kept = tuple(_replaced(turn, found) for turn, found in zip(earlier, spans, strict=False))
    if spans[-1]:
        return ScreenedTurn(REDACTED, kept, True)
    just_removed = bool(earlier) and earlier[-1] in (REDACTED, DETAILS_REDACTED)
    if just_removed and looks_like_card_details(text):
        return ScreenedTurn(DETAILS_REDACTED, kept, True)
    return ScreenedTurn(text, kept, kept != tuple(earlier))
