"""An independent card-number oracle: every separator the product claims, by code point.

`bot.cards` promises that a card number's digits (any Unicode decimal digit) may be
separated by whitespace of any length, any number of zero-width characters, and at most
three marks per gap: any dash (Unicode's Pd), the full stop, the minus sign, the katakana
prolonged sound mark and the wide full stops. The lists below are written out here, not
imported, so a separator dropped from the product is still one here and a test notices.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

WHITESPACE = {
    "tab": "\t",
    "line feed": "\n",
    "line tabulation": "\x0b",
    "form feed": "\x0c",
    "carriage return": "\r",
    "file separator": "\x1c",
    "group separator": "\x1d",
    "record separator": "\x1e",
    "unit separator": "\x1f",
    "space": " ",
    "next line": "\x85",
    "no-break space": "\u00a0",
    "ogham space mark": "\u1680",
    "en quad": "\u2000",
    "em quad": "\u2001",
    "en space": "\u2002",
    "em space": "\u2003",
    "three-per-em space": "\u2004",
    "four-per-em space": "\u2005",
    "six-per-em space": "\u2006",
    "figure space": "\u2007",
    "punctuation space": "\u2008",
    "thin space": "\u2009",
    "hair space": "\u200a",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "narrow no-break space": "\u202f",
    "medium mathematical space": "\u205f",
    "ideographic space": "\u3000",
}
"""Free between digits, a run of any length."""

ZERO_WIDTH = {
    "zero width space": "\u200b",
    "zero width non-joiner": "\u200c",
    "zero width joiner": "\u200d",
    "word joiner": "\u2060",
    "zero width no-break space": "\ufeff",
    "soft hyphen": "\u00ad",
}
"""Free between digits, any number."""

MARKS = {
    "hyphen-minus": "-",
    "full stop": ".",
    "armenian hyphen": "\u058a",
    "hebrew maqaf": "\u05be",
    "canadian syllabics hyphen": "\u1400",
    "mongolian todo soft hyphen": "\u1806",
    "hyphen": "\u2010",
    "non-breaking hyphen": "\u2011",
    "figure dash": "\u2012",
    "en dash": "\u2013",
    "em dash": "\u2014",
    "horizontal bar": "\u2015",
    "double oblique hyphen": "\u2e17",
    "hyphen with diaeresis": "\u2e1a",
    "two-em dash": "\u2e3a",
    "three-em dash": "\u2e3b",
    "double hyphen": "\u2e40",
    "oblique hyphen": "\u2e5d",
    "wave dash": "\u301c",
    "wavy dash": "\u3030",
    "katakana-hiragana double hyphen": "\u30a0",
    "presentation form for vertical em dash": "\ufe31",
    "presentation form for vertical en dash": "\ufe32",
    "small em dash": "\ufe58",
    "small hyphen-minus": "\ufe63",
    "fullwidth hyphen-minus": "\uff0d",
    "yezidi hyphenation mark": "\U00010ead",
    "minus sign": "\u2212",
    "katakana prolonged sound mark": "\u30fc",
    "fullwidth full stop": "\uff0e",
    "ideographic full stop": "\u3002",
    "halfwidth ideographic full stop": "\uff61",
}
"""At most MAX_MARKS of these between two digits."""

MAX_MARKS = 3
SEPARATORS = {**WHITESPACE, **ZERO_WIDTH, **MARKS}
"""Every character the product claims may sit between a card number's digits."""
MIN_PAN, MAX_PAN = 13, 19


def luhn_ok(digits: list[int]) -> bool:
    total = 0
    for position, value in enumerate(reversed(digits)):
        doubled = value * 2 if position % 2 else value
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _from(text: str, start: int) -> Iterator[str]:
    return (text[index] for index in range(start, len(text)))


def has_pan(text: str) -> bool:
    """Brute force: from every digit, follow the separator rule and Luhn-check each 13-19 prefix."""
    free = set(WHITESPACE.values()) | set(ZERO_WIDTH.values())
    marks_allowed = set(MARKS.values())
    for start, char in enumerate(text):
        if not char.isdecimal():
            continue
        digits: list[int] = []
        marks = 0
        for following in _from(text, start):
            if following.isdecimal():
                digits.append(unicodedata.decimal(following))
                marks = 0
                if len(digits) >= MIN_PAN and luhn_ok(digits):
                    return True
                if len(digits) == MAX_PAN:
                    break
            elif following in free:
                continue
            elif following in marks_allowed and marks < MAX_MARKS:
                marks += 1
            else:
                break
    return False
