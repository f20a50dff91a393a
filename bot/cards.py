"""Card validation and card-number (PAN) detection in free text. Pure: no I/O.

Digits are any unicode decimal digit (`str.isdecimal`). Inside a card number,
consecutive digits may be separated by at most one separator (whitespace, a
dash or a dot) plus any number of zero-width characters.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType

from bot.errors import CardRejected

__all__ = [
    "REDACTED",
    "VALID_LENGTHS",
    "Brand",
    "contains_pan",
    "detect_brand",
    "display_name",
    "find_pans",
    "luhn_valid",
    "mask",
    "normalize_pan",
    "parse_expiry",
    "redact_pans",
    "validate_cvc",
    "validate_name",
    "validate_number",
]

REDACTED = "[card number removed]"
MAX_NAME_LENGTH = 100
MAX_YEARS_AHEAD = 20

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
    if contains_pan(name):
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


def mask(brand: str, last4: str) -> str:
    """`"Visa •••• 4242"`; never more than the last four digits."""
    if len(last4) != 4 or not (last4.isascii() and last4.isdigit()):
        raise ValueError("last4 must be exactly four ASCII digits")
    return f"{display_name(brand)} \u2022\u2022\u2022\u2022 {last4}"


_MAX_GAP = 3
"""Separators allowed between two digits of one run: "4242 - 4242" and double spaces count."""


def _next_digit_in_run(text: str, index: int) -> int:
    """Index of the digit that continues a run after the gap starting at `index`, or -1."""
    separators = 0
    while index < len(text):
        char = text[index]
        if char.isdecimal():
            return index
        if _is_separator(char) and separators < _MAX_GAP:
            separators += 1
        elif char not in _ZERO_WIDTH:
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
