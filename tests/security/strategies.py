"""Hypothesis strategies for card data as people type it: every brand, every format.

Issuer ranges and lengths are written out here from the card networks' published tables
rather than taken from `bot.cards`, so a gap in the product's table cannot hide itself; the
separators between groups are every one the product claims, from `tests.card_oracle`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hypothesis import strategies as st

from tests.card_oracle import SEPARATORS

# brand: ((lowest prefix, highest prefix), ...), lengths
BRANDS: dict[str, tuple[tuple[tuple[int, int], ...], tuple[int, ...]]] = {
    "visa": (((4, 4),), (13, 16, 19)),
    "mastercard": (((51, 55), (2221, 2720)), (16,)),
    "amex": (((34, 34), (37, 37)), (15,)),
    "discover": (((6011, 6011), (644, 649), (65, 65), (622126, 622925)), (16, 17, 18, 19)),
    "diners": (((300, 305), (36, 36), (38, 39)), (14, 16)),
    "jcb": (((3528, 3589),), (16, 17, 18, 19)),
    "unionpay": (((62, 62),), (16, 17, 18, 19)),
}
_SEPARATED_BY = {"spaces": " ", "dashes": "-", "none": "", **SEPARATORS}
FORMATS = tuple(_SEPARATED_BY)
"""How a number's groups are joined: by spaces, dashes, nothing, or any claimed separator."""


@dataclass(frozen=True)
class Card:
    """One generated card: what the sweep types, and the values the scanner looks for."""

    digits: str
    brand: str
    typed: str
    """The number as typed: grouped, joined by one of FORMATS."""
    expiry: str
    cvc: str


def check_digit(body: str) -> str:
    """The Luhn check digit that makes `body + digit` valid."""
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:  # doubled: these sit in odd places once the check digit is added
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str((10 - total % 10) % 10)


def grouped(digits: str, separator: str) -> str:
    """`digits` in the groups printed on the card: 4-6-5 for 15 digits, else fours."""
    if len(digits) == 15:
        sizes = [4, 6, 5]
    elif len(digits) == 14:
        sizes = [4, 6, 4]
    else:
        sizes = [4] * (len(digits) // 4) + ([len(digits) % 4] if len(digits) % 4 else [])
    groups, start = [], 0
    for size in sizes:
        groups.append(digits[start : start + size])
        start += size
    return separator.join(groups)


def typed_as(digits: str, style: str) -> str:
    """`digits` in their printed groups, joined as FORMATS' `style` says."""
    return grouped(digits, _SEPARATED_BY[style])


@st.composite
def pans(draw: st.DrawFn, brand: str | None = None) -> tuple[str, str]:
    """(digits, brand): a Luhn-valid number in one of the brand's issuer ranges and lengths."""
    name = brand or draw(st.sampled_from(sorted(BRANDS)))
    ranges, lengths = BRANDS[name]
    low, high = draw(st.sampled_from(ranges))
    prefix = str(draw(st.integers(low, high)))
    length = draw(st.sampled_from(lengths))
    rest = length - len(prefix) - 1
    body = prefix + draw(st.text("0123456789", min_size=rest, max_size=rest))
    return body + check_digit(body), name


@st.composite
def cards(draw: st.DrawFn) -> Card:
    """A card of any brand, typed in any format, with a future expiry and a fitting CVC."""
    digits, brand = draw(pans())
    style = draw(st.sampled_from(FORMATS))
    this_year = datetime.now(UTC).year % 100
    month = draw(st.integers(1, 12))
    year = draw(st.integers(this_year + 1, this_year + 9))
    cvc_length = 4 if brand == "amex" else 3
    cvc = draw(st.text("0123456789", min_size=cvc_length, max_size=cvc_length))
    return Card(digits, brand, typed_as(digits, style), f"{month:02d}/{year:02d}", cvc)


def card_batches(size: int) -> st.SearchStrategy[list[Card]]:
    """`size` cards with distinct numbers."""
    return st.lists(cards(), min_size=size, max_size=size, unique_by=lambda card: card.digits)


BLANKS = " \t\n\u00a0\u3000"
"""Whitespace that ends up between a card's groups: any run of it is one gap."""
MIN_PART = 7
"""The shortest second part of a split number: long enough not to turn up by chance."""


@st.composite
def widely_spaced(draw: st.DrawFn) -> Card:
    """A card typed with a run of four to twelve blanks between its groups."""
    card = draw(cards())
    groups = grouped(card.digits, " ").split(" ")
    gaps = [draw(st.text(BLANKS, min_size=4, max_size=12)) for _ in groups[1:]]
    typed = groups[0] + "".join(gap + group for gap, group in zip(gaps, groups[1:], strict=True))
    return replace(card, typed=typed)


@dataclass(frozen=True)
class SplitCard:
    """A card number typed in two messages."""

    card: Card
    parts: tuple[str, str]
    """The digits of each message's part."""

    @property
    def typed(self) -> tuple[str, str]:
        return grouped(self.parts[0], " "), grouped(self.parts[1], " ")


@st.composite
def split_cards(draw: st.DrawFn) -> SplitCard:
    """A card cut anywhere that leaves six digits or more first and MIN_PART or more after."""
    card = draw(cards())
    cut = draw(st.integers(6, len(card.digits) - MIN_PART))
    return SplitCard(card, (card.digits[:cut], card.digits[cut:]))
