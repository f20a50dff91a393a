"""Card numbers masked, and CVC and expiry values dropped, in what the page shows and keeps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DROPPED = "[removed]"
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")
_SECRET_FIELD = re.compile(r"cvc|cvv|expiry|exp_month|exp_year", re.IGNORECASE)
_LETTER = re.compile(r"[^\W\d_]")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _holds_card_number(digits: str) -> bool:
    """Whether some 13-19 digit window of `digits` passes the Luhn check."""
    return any(
        _luhn_valid(digits[start : start + length])
        for length in range(13, min(len(digits), 19) + 1)
        for start in range(len(digits) - length + 1)
    )


def mask_card_numbers(text: str) -> str:
    """`text` with each digit run that holds a Luhn-valid 13-19 digit number masked.

    A run that is exactly a card number keeps its last four (`•••• 4242`); a longer run that
    hides one is masked whole.
    """

    def mask(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if not _holds_card_number(digits):
            return match.group()
        whole = 13 <= len(digits) <= 19 and _luhn_valid(digits)
        return f"•••• {digits[-4:]}" if whole else "••••"

    return _DIGIT_RUN.sub(mask, text)


def masked(data: Any, *, key: str = "", secret: bool = False) -> Any:
    """A copy of JSON `data` fit to keep and show: card numbers masked, CVC and expiry dropped.

    A typed value (`"value"`) anywhere under a CVC or expiry key is dropped, and so is a string
    keyed by one that holds no letters (a value, not a message such as an inline error).
    """
    if isinstance(data, Mapping):
        inside = secret or bool(_SECRET_FIELD.search(key))
        return {str(k): masked(v, key=str(k), secret=inside) for k, v in data.items()}
    if isinstance(data, list):
        return [masked(item, key=key, secret=secret) for item in data]
    if isinstance(data, str):
        if (secret and key == "value") or (_SECRET_FIELD.search(key) and not _LETTER.search(data)):
            return DROPPED
        return mask_card_numbers(data)
    return data
