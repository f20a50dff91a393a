"""Hostile text for parsers and payloads: unicode digits, invisible characters, emoji, 40,000 chars.

`CASE_FOLDING_TRAPS` are the two characters that case-insensitive matching folds
onto ASCII letters of a currency code ("İNR", "D\u212aK"), so they are offered often.
"""

from __future__ import annotations

from hypothesis import strategies as st

VISA = "4242424242424242"
DIGIT_ZEROS = {
    "ascii": "0",
    "full-width": "\uff10",
    "arabic-indic": "\u0660",
    "persian": "\u06f0",
    "devanagari": "\u0966",
    "bengali": "\u09e6",
    "thai": "\u0e50",
    "math-bold": "\U0001d7ce",
}
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
CASE_FOLDING_TRAPS = "\u0130\u212a"  # LATIN CAPITAL LETTER I WITH DOT ABOVE, KELVIN SIGN
SLACK_TEXT_LIMIT = 40_000


def in_script(digits: str, script: str) -> str:
    """ASCII `digits` written with the decimal digits of `script`."""
    zero = ord(DIGIT_ZEROS[script])
    return "".join(chr(zero + int(d)) if d.isdigit() else d for d in digits)


def grouped(digits: str, separator: str, size: int = 4) -> str:
    return separator.join(digits[i : i + size] for i in range(0, len(digits), size))


_TRICKY = [
    *"0123456789 -./,$€£¥#@:+_*'\"<>|\n\t",
    *ZERO_WIDTH,
    "\u00a0",
    "\u2007",
    "\u3000",
    "\u2013",
    "\u2212",
    "\uff0d",
    "\u30fc",
    "\u202e",  # right-to-left override
    "\U0001f4b3",  # credit card emoji
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a ZWJ family
    "\ufe0f",
    "\ud7ff",
    "USD",
    "EUR",
    "invoice ",
    "INV-",
    "pay ",
    "cancel",
    "no",
    "help",
    "<@U123>",
    "<mailto:a@b.co|a@b.co>",
    "[card number removed]",
    *(DIGIT_ZEROS.values()),
    *CASE_FOLDING_TRAPS,
    "DKK",
    "INR",
    "ILS",
]

_any_text = st.text(max_size=300)
_tricky_text = st.lists(st.sampled_from(_TRICKY), max_size=40).map("".join)


@st.composite
def pan_rendering(draw: st.DrawFn) -> str:
    """A Luhn-valid card number in any digit script, grouped by separators people type."""
    script = draw(st.sampled_from(sorted(DIGIT_ZEROS)))
    separator = draw(st.sampled_from(["", " ", "-", ".", "  ", "\u00a0", "\u3000", "\u200b"]))
    digits = in_script(VISA, script)
    if separator == "\u200b":
        return "\u200b".join(digits)
    return grouped(digits, separator)


@st.composite
def _with_pan(draw: st.DrawFn) -> str:
    return draw(_tricky_text) + " " + draw(pan_rendering()) + " " + draw(_tricky_text)


_huge = st.sampled_from(
    [
        "a" * SLACK_TEXT_LIMIT,
        "4" * SLACK_TEXT_LIMIT,
        "\U0001f4b3" * SLACK_TEXT_LIMIT,
        ("4242 " * (SLACK_TEXT_LIMIT // 5)),
        ("\u200b4" * (SLACK_TEXT_LIMIT // 2)),
        ("INV-" + "a-" * (SLACK_TEXT_LIMIT // 2 - 2)),
        ("a@" + "a." * (SLACK_TEXT_LIMIT // 2 - 1)),
        ("1," * (SLACK_TEXT_LIMIT // 2)),
    ]
)


def hostile_text() -> st.SearchStrategy[str]:
    """Any text a person (or an attacker) might send, from empty to Slack's 40,000 characters."""
    return st.one_of(_any_text, _tricky_text, _with_pan(), _huge)
