"""Does this message ask to cancel? Word-boundary and state-aware (DESIGN.md section 4)."""

from __future__ import annotations

import re

_CANCEL_WORDS = re.compile(
    r"\b(cancel|stop|quit|abort|exit|never\s*mind|forget\s+it)\b", re.IGNORECASE
)
# "don't cancel", "I do not want to stop", "no need to cancel": the user wants to go on.
# Checked just before each cancel word, so "don't stop, cancel it" still cancels.
_NEGATION_BEFORE = re.compile(
    r"\b(don'?t|do\s+not|not|no\s+need\s+to|never)\s+"
    r"((want|need|have|wish|mean)\s+to\s+|\w+\s+)?$",
    re.IGNORECASE,
)
# A bare refusal only means "cancel" when the bot's latest offer was the card form.
_BARE_NO = re.compile(r"^\s*(no|nope|nah|no,?\s+thanks?|no,?\s+thank\s+you)\s*[.!]*\s*$", re.I)


def is_cancel(text: str, *, card_form_offered: bool) -> bool:
    """True when `text` asks to stop the payment in the current state.

    Args:
        card_form_offered: the secure-entry button is the bot's latest offer.
    """
    normalized = text.replace("\u2019", "'")
    for match in _CANCEL_WORDS.finditer(normalized):
        if not _NEGATION_BEFORE.search(normalized[: match.start()]):
            return True
    return card_form_offered and bool(_BARE_NO.match(normalized))
