"""What goes into the card form beside the number: a cardholder, an expiry, a CVC's spelling.

Each is made to be found: the surname is a random word no log line holds by chance, and the
expiry is years past any the card strategies draw, so a month and year found together are
the ones the sweep typed. CVCs come in every spelling the card form accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hypothesis import strategies as st

GIVEN_NAMES = ("Ada", "Zoë", "José", "Siobhán", "Björn", "Nguyễn")
SYLLABLES = (
    "zor", "vex", "qui", "lam", "brun", "thy", "kel", "wix", "dra", "pim",
    "osk", "ulf", "gar", "yth", "mok", "fen", "jar", "tiv", "hux", "sel",
)  # fmt: skip
CVC_SPELLINGS = {
    "plain": lambda code: code,
    "padded": lambda code: f" {code} ",
    "spaced once": lambda code: f"{code[0]} {code[1:]}",
    "every digit spaced": lambda code: " ".join(code),
    "zero-width space": lambda code: f"{code[:2]}\u200b{code[2:]}",
    "no-break space": lambda code: f"{code[0]}\u00a0{code[1:]}",
    "line break": lambda code: f"{code}\n",
    "full-width digits": lambda code: "".join(chr(0xFF10 + int(d)) for d in code),
    "arabic-indic digits": lambda code: "".join(chr(0x0660 + int(d)) for d in code),
}
"""Each way the card form accepts a security code: blanks anywhere, any decimal digits."""
EXPIRY_SPELLINGS = {
    "MM/YY": "{month:02d}/{short:02d}",
    "M/YY": "{month}/{short:02d}",
    "MM/YYYY": "{month:02d}/{year}",
    "MM / YY": "{month:02d} / {short:02d}",
    "MM-YY": "{month:02d}-{short:02d}",
    "M - YYYY": "{month} - {year}",
}
FIRST_UNUSUAL_YEAR = datetime.now(UTC).year + 11
"""Past the card strategies' expiries (at most nine years ahead), within the form's twenty."""


@dataclass(frozen=True)
class Cardholder:
    """The rest of one card form: who holds the card, its expiry, how its CVC is typed."""

    name: str
    month: int
    year: int
    expiry: str
    """The expiry as typed, in one of EXPIRY_SPELLINGS."""
    cvc_spelling: str

    def cvc(self, code: str) -> str:
        """`code` (ASCII digits) as this cardholder types it."""
        return CVC_SPELLINGS[self.cvc_spelling](code)


@st.composite
def cardholders(draw: st.DrawFn) -> Cardholder:
    """A rare name, an unusual expiry in any spelling, and a CVC spelling."""
    surname = "".join(draw(st.lists(st.sampled_from(SYLLABLES), min_size=4, max_size=4)))
    name = f"{draw(st.sampled_from(GIVEN_NAMES))} {surname.capitalize()}"
    month = draw(st.integers(1, 12))
    year = draw(st.integers(FIRST_UNUSUAL_YEAR, FIRST_UNUSUAL_YEAR + 8))
    spelling = EXPIRY_SPELLINGS[draw(st.sampled_from(sorted(EXPIRY_SPELLINGS)))]
    expiry = spelling.format(month=month, year=year, short=year % 100)
    return Cardholder(name, month, year, expiry, draw(st.sampled_from(sorted(CVC_SPELLINGS))))
