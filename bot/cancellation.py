"""Does this message ask to cancel, or to be forgotten? Word-boundary and state-aware
(DESIGN.md, "Dialogue").

Linear in the length of the message, and only its first `MAX_TURN_CHARS` are read:
a cancel word beyond them is not seen.
"""

from __future__ import annotations

import re

from bot.models import MAX_TURN_CHARS

_CANCEL_WORDS = re.compile(
    r"\b(cancel|stop|quit|abort|exit|never\s*mind|forget\s+it)\b", re.IGNORECASE
)
# "don't cancel", "I do not want to stop", "no need to cancel": the user wants to go on.
# A negation covers the cancel word right after it, or after one more word
# ("don't ever stop") or "want to" ("do not want to stop"), so "don't stop, cancel it"
# still cancels. Each match notes, in lookahead groups, every place a covered word may
# start; the text is scanned once, however many cancel words it holds.
_NEGATION = re.compile(
    r"\b(?:don'?t|do\s+not|not|no\s+need\s+to|never)\s+"
    r"(?=(?P<purpose>(?:want|need|have|wish|mean)\s+to\s+)?)(?=(?P<word>\w+\s+)?)",
    re.IGNORECASE,
)
# A bare refusal only means "cancel" when the bot's latest offer was the card form.
# Possessive blanks: a long run of them must not be tried in every split.
_BARE_NO = re.compile(
    r"^\s*+(no|nope|nah|no,?\s+thanks?|no,?\s+thank\s+you)\s*+[.!]*+\s*+$", re.IGNORECASE
)


def is_cancel(text: str, *, card_form_offered: bool) -> bool:
    """True when `text` asks to stop the payment in the current state.

    Args:
        card_form_offered: the secure-entry button is the bot's latest offer.
    """
    normalized = text[:MAX_TURN_CHARS].replace("\u2019", "'")
    covered = _negated_starts(normalized)
    if any(match.start() not in covered for match in _CANCEL_WORDS.finditer(normalized)):
        return True
    return card_form_offered and bool(_BARE_NO.match(normalized))


def _negated_starts(text: str) -> set[int]:
    """Where a word would start that a negation before it covers."""
    covered: set[int] = set()
    for negation in _NEGATION.finditer(text):
        covered.add(negation.end())
        covered.update(negation.end(name) for name in ("purpose", "word") if negation[name])
    return covered


# "forget me", "please delete my details", "erase my data": never "forget it" (a cancel).
_FORGET = re.compile(
    r"^\W*+(?:please\s+)?(?:forget|delete|erase|remove)\s+"
    r"(?:me|my\s+(?:details|data|card|information|info))\b[\s.!]*+$",
    re.IGNORECASE,
)


def is_forget(text: str) -> bool:
    """True when the whole of `text` asks the bot to forget the person ("forget my details").

    Only the plain request: the words inside a longer message do not delete anything.
    """
    return bool(_FORGET.match(text[:MAX_TURN_CHARS]))
