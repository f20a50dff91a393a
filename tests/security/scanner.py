"""Find card data in whatever a sink captured: the leak sweep's detector.

Two searches run over every sink, because neither alone is both sound and quiet.

1. The injected values, everywhere. Each card number the sweep typed is looked for in
   every string of every sink, whatever separators sit between its digits (spaces, dashes,
   dots, `+`, `%20`, escaped newlines), in the text as captured, after URL decoding, after
   JSON/Python unescaping (`\\u00a0`, and its doubled `\\\\u00a0` in a repr), and inside
   long base64 runs (an API Gateway body); any Unicode digit counts as its ASCII digit. Each
   injected CVC is looked for next to a CVC field name (`"cvc"`, `card[cvc]`, `cvv`,
   `security code`, within 100 non-digit characters), in any spelling the card form accepts
   (`1 23`, zero-width characters, full-width digits). Each injected cardholder name is looked
   for by its surname, which the sweep makes a random word; each injected expiry as its month
   and year together: joined by `/`, `-` or blanks, or with a field name (`exp_year`) between
   them, as Stripe's form and JSON write them. Where the expiry may appear (Stripe's own answer,
   kept in a store, shown in a confirmation), the one shape allowed there is passed in and
   skipped. The values are random, so they do not turn up by chance: this search reports no
   false positives, and it covers ids, timestamps and raw file bytes as well. A card
   number typed in parts across messages is found when one sink holds every part, each as a
   whole run of digits, in any of its strings.

2. Any card-number-shaped run: 13-19 digits (with the same separators) that pass Luhn, or a
   longer run with a Luhn-valid 13-19 digit stretch inside. This catches card numbers the
   sweep did not type: a product that reformats, truncates or invents one. A run of card
   length is judged whole, so the card form's own placeholder `1234 5678 9012 3456` (not
   Luhn-valid, though 14 of its digits are) is not reported. It needs one exception. Slack's
   message timestamps (`1712345678.123456`), trigger ids (`5522672900359.6335258913941.9a93...`)
   and signatures (`v0=` + hex) are digit runs, and about one in ten passes Luhn. So a string
   that is *exactly* one of those shapes under a key Slack uses for it (`ts`, `trigger_id`,
   `client_msg_id`, `x-slack-signature`, ...) is skipped, and so is any token of exactly
   the `ts` shape in free text (log lines, raw database bytes), and any id token in free text:
   a UUID (`client_msg_id`, an AWS request id) or 32 hex characters (`X-Slack-Req-Id`), with at
   least one letter in it. A random UUID reads as a Luhn-valid number about once in 350, so
   without this the sweep would fail every few dozen runs with nothing leaked.
   Base64 decodings get only the first search: once decoded, their ids have lost the keys
   that say what they are.
   Anything else, including the same digits in a message text, still counts; and the first
   search has no exceptions at all, so a typed card number hidden in a `ts`-shaped field
   would still be found.

Both searches are this module's own code, not `bot.cards`: a detector that shared the
product's blind spots could not find them.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from tests.card_oracle import MARKS, ZERO_WIDTH

MIN_PAN, MAX_PAN = 13, 19
MAX_GAP = 4
"""Separator tokens allowed between two digits of one run; blank of any length is one token."""

# Possessive: a blank is taken whole, so a long one costs one pass, not a search.
_INVISIBLE = "".join(ZERO_WIDTH.values())
_BLANK = rf"(?:[\s{_INVISIBLE}]|%20|\\+[ntr])++"
_MARK = "".join(re.escape(mark) for mark in MARKS.values())
_SEPARATOR = rf"(?:{_BLANK}|[{_MARK}+]|%2[dD]|%2[bB])"
_DIGIT = r"\d"  # any Unicode decimal digit: full-width ones too
_RUN = re.compile(rf"{_DIGIT}(?:{_SEPARATOR}{{0,{MAX_GAP}}}{_DIGIT})*")
_CVC_FIELD = re.compile(
    rf"(?i)(?:cvc|cvv|card\[cvc\]|card%5Bcvc%5D|security[ _-]?code)\D{{0,100}}?(?<!\d)"
    rf"(\d(?:[\s{_INVISIBLE}]*\d){{2,3}})(?!\d)"
)
"""A security code beside its field name, its digits spaced as the card form allows."""
_TS = r"[0-9]{10}\.[0-9]{6}"
_HEX = "[0-9a-fA-F]"
_ID_TOKEN = re.compile(
    rf"(?<![0-9A-Za-z.\-])(?=[0-9a-fA-F-]*[a-fA-F])"
    rf"(?:{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![0-9a-fA-F\-])"
    rf"|{_HEX}{{32}}(?![0-9A-Za-z.\-]))"
)
"""A UUID or a 32-hex-character id with a letter in it: never a card number. A UUID's
8-4-4-4-12 shape is its own boundary: in a database file's raw bytes the next byte may
be any letter (a record's header), so only a further hex digit or dash would extend it."""
_NOT_A_CARD = re.compile(rf"(?<![0-9.]){_TS}(?![0-9])|{_ID_TOKEN.pattern}")
_EXPIRY_WORDS = r"(?:exp|month|year|valid|thru)"
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}")
"""A run long enough to hide a card number once encoded (an API Gateway body, say)."""
_ESCAPE = re.compile(r"\\+(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))")
"""An escape, its backslash doubled any number of times (a repr of JSON doubles it)."""

SLACK_SHAPED: Mapping[str, re.Pattern[str]] = {
    key: re.compile(pattern)
    for keys, pattern in (
        (("ts", "event_ts", "thread_ts", "message_ts", "action_ts", "latest"), _TS),
        (("trigger_id",), r"[0-9]+\.[0-9]+\.[0-9a-f]+"),
        (("hash",), r"[0-9]{10}\.[0-9a-f]+"),
        (("x-slack-signature",), r"v0=[0-9a-f]{64}"),
        (("x-slack-request-timestamp", "event_time"), r"[0-9]{10}"),
        (("client_msg_id",), r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        # Teams message ids, and the replies that name them: epoch milliseconds.
        (("id", "replyToId", "activityId"), r"[0-9]{13}"),
    )
    for key in keys
}


@dataclass(frozen=True)
class Finding:
    """Card data found in a sink: where, what kind, and the text around it."""

    sink: str
    kind: str
    value: str
    context: str

    def __str__(self) -> str:
        return f"{self.sink}: {self.kind} {self.value} in …{self.context}…"


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def digit_runs(text: str) -> Iterator[tuple[int, int, str]]:
    """Each run of digits joined by separators, as (start, end, ASCII digits)."""
    for match in _RUN.finditer(text):
        digits = "".join(str(unicodedata.decimal(c)) for c in match[0] if c.isdecimal())
        if len(digits) >= MIN_PAN:
            yield match.start(), match.end(), digits


def card_number_like(digits: str) -> bool:
    """A 13-19 digit run that passes Luhn, or a longer run with such a stretch inside.

    A run of card length is judged whole: the modal's own placeholder "1234 5678 9012 3456"
    fails Luhn, though 14 of its digits pass.
    """
    if len(digits) <= MAX_PAN:
        return luhn_valid(digits)
    return any(
        luhn_valid(digits[start : start + length])
        for length in range(MIN_PAN, MAX_PAN + 1)
        for start in range(len(digits) - length + 1)
    )


def readings(text: str) -> list[str]:
    """`text` as captured, and decoded as URL encoding and JSON/Python escapes would be."""
    found = [text]
    if "%" in text or "+" in text:
        found.append(unquote_plus(text))
    for variant in list(found):
        if "\\u" in variant or "\\x" in variant:
            found.append(_ESCAPE.sub(_unescape, variant))
    return found


def base64_readings(text: str) -> list[str]:
    """Whatever readable text the long base64 runs in `text` decode to."""
    found = []
    for blob in _BASE64.findall(text):
        decoded = _base64_text(blob)
        if decoded:
            found += readings(decoded)
    return found


def _base64_text(blob: str) -> str | None:
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
    except ValueError:
        return None
    decoded = raw.decode("utf-8", errors="ignore")
    return decoded if sum(c.isprintable() for c in decoded) > 0.9 * len(decoded) else None


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match[1] or match[2], 16))


_MONTH = r"(?<![0-9A-Za-z.\-])(?P<{}>0?[1-9]|1[0-2])(?![0-9A-Za-z.])"
_YEAR = r"(?<![0-9A-Za-z.])(?P<{}>(?:20)?[0-9]{{2}})(?![0-9A-Za-z.\-])"
_LONG_YEAR = r"(?<![0-9A-Za-z.\-])(?P<{}>20[0-9]{{2}})(?![0-9A-Za-z.\-])"
_LABELLED = rf"[^0-9]{{{{0,30}}}}?{_EXPIRY_WORDS}[^0-9]{{{{0,30}}}}?"
_EXPIRY = re.compile(
    "(?i)"
    + rf"{_MONTH}(?:\s*[/\-\u2010-\u2015]\s*|\s+){_YEAR}".format("m1", "y1")
    + "|"
    + f"{_MONTH}{_LABELLED}{_LONG_YEAR}".format("m2", "y2")
    + "|"
    + f"{_LONG_YEAR}{_LABELLED}{_MONTH}".format("y3", "m3")
)
"""A month and a year together, as a person, Stripe's form or a JSON body writes them."""


def expiries_in(text: str) -> Iterator[tuple[int, int, re.Match[str]]]:
    """Each (month, four-digit year) written together in `text`, with where."""
    for match in _EXPIRY.finditer(text):
        month = next(g for g in (match["m1"], match["m2"], match["m3"]) if g)
        year = next(g for g in (match["y1"], match["y2"], match["y3"]) if g)
        yield int(month), int(year) + (2000 if len(year) == 2 else 0), match


class Scanner:
    """Looks for the injected card data, and for any Luhn-valid number."""

    def __init__(
        self,
        pans: Iterable[str] = (),
        cvcs: Iterable[str] = (),
        splits: Iterable[tuple[str, ...]] = (),
        *,
        names: Iterable[str] = (),
        expiries: Iterable[tuple[int, int]] = (),
        expiry_allowed: Mapping[str, str] | None = None,
    ) -> None:
        """The injected values to look for; CVCs as ASCII digits, expiries as (month, year).

        Args:
            splits: card numbers typed in parts across messages, as their parts' digits.
            names: cardholder names, each found by its last word (keep it rare: random).
            expiry_allowed: per sink, the one shape the expiry may take there: a pattern
                formatted with `month` and `year` (ints); anywhere else it is a leak.
        """
        self.pans = set(pans)
        self.cvcs = set(cvcs)
        self.splits = set(splits)
        self.names = {name.split()[-1].casefold(): name for name in names}
        self.expiries = set(expiries)
        self.expiry_allowed = dict(expiry_allowed or {})
        self._lengths = {len(pan) for pan in self.pans}

    def scan(self, sink: str, captured: object) -> list[Finding]:
        """Everything found in `captured`: text, bytes, or JSON-like data (dicts, lists)."""
        findings: list[Finding] = []
        runs: set[str] = set()
        for text, generic in _leaves(captured):
            findings += self.scan_text(sink, text, generic=generic)
            if self.splits:
                runs |= _run_digits(text)
        findings += [
            Finding(sink, "split PAN", "".join(parts), " + ".join(parts))
            for parts in self.splits
            if all(part in runs for part in parts)
        ]
        return _unique(findings)

    def scan_text(self, sink: str, text: str, *, generic: bool = True) -> list[Finding]:
        """Both searches over one string; `generic=False` runs the injected-value one only."""
        findings: list[Finding] = []
        for reading in readings(text):
            findings += self._injected(sink, reading)
            if generic:
                findings += self._luhn_runs(sink, reading)
        # Decoded base64 has lost its keys (a Slack ts there is just digits): injected only.
        for reading in base64_readings(text):
            findings += self._injected(sink, reading)
        return _unique(findings)

    def _injected(self, sink: str, text: str) -> list[Finding]:
        findings = []
        for start, end, digits in digit_runs(text):
            for length in self._lengths:
                for offset in range(len(digits) - length + 1):
                    if digits[offset : offset + length] in self.pans:
                        value = digits[offset : offset + length]
                        findings.append(
                            Finding(sink, "injected PAN", value, _around(text, start, end))
                        )
        for match in _CVC_FIELD.finditer(text):
            code = _ascii(match[1])
            if code in self.cvcs or code[:3] in self.cvcs:
                findings.append(Finding(sink, "injected CVC", code, _around(text, *match.span())))
        if self.names:
            findings += self._names(sink, text)
        if self.expiries:
            findings += self._expiries(sink, text)
        return findings

    def _names(self, sink: str, text: str) -> list[Finding]:
        folded = text.casefold()
        return [
            Finding(sink, "injected name", name, _around(text, at, at + len(word)))
            for word, name in self.names.items()
            if (at := folded.find(word)) >= 0
        ]

    def _expiries(self, sink: str, text: str) -> list[Finding]:
        allowed = self.expiry_allowed.get(sink)
        findings = []
        for month, year, match in expiries_in(text):
            if (month, year) not in self.expiries:
                continue
            context = _around(text, *match.span())
            shape = allowed and allowed.format(month=month, year=year)
            if shape and re.search(shape, _around(text, *match.span(), margin=60)):
                continue
            findings.append(Finding(sink, "injected expiry", f"{month:02d}/{year}", context))
        return findings

    def _luhn_runs(self, sink: str, text: str) -> list[Finding]:
        text = _NOT_A_CARD.sub(lambda m: "_" * len(m[0]), text)
        findings = []
        for start, end, digits in digit_runs(text):
            if card_number_like(digits):
                context = _around(text, start, end)
                findings.append(Finding(sink, "Luhn-valid number", digits, context))
        return findings


def _ascii(digits: str) -> str:
    return "".join(str(unicodedata.decimal(c)) for c in digits if c.isdecimal())


def _run_digits(text: str) -> set[str]:
    """The digits of every run in every reading of `text`, each run whole.

    A split card number's parts are looked for as whole runs, wherever in the sink they
    sit: a part of seven digits or more does not turn up as a whole run by chance.
    """
    texts = readings(text) + base64_readings(text)
    return {
        "".join(str(unicodedata.decimal(c)) for c in match[0] if c.isdecimal())
        for reading in texts
        for match in _RUN.finditer(reading)
    }


def _slack_shaped(key: str | None, text: str) -> bool:
    pattern = SLACK_SHAPED.get((key or "").lower())
    return pattern is not None and pattern.fullmatch(text) is not None


def _leaves(value: object, key: str | None = None) -> Iterator[tuple[str, bool]]:
    """Every string in `value`, and whether the generic search may read it.

    A string holding JSON or a form is read whole by the injected-value search only, then
    opened so that each part is judged under its own key.
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")  # a UTF-8 file: digits of any script
    if isinstance(value, str):
        inner = _parsed(value)
        if inner is None:
            yield value, not _slack_shaped(key, value)
        else:
            yield value, False
            yield from _leaves(inner, key)
    elif isinstance(value, Mapping):
        for name, item in value.items():
            yield str(name), True
            yield from _leaves(item, str(name))
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _leaves(item, key)
    elif value is not None and not isinstance(value, bool):
        yield str(value), not _slack_shaped(key, str(value))


def _parsed(text: str) -> object | None:
    """The JSON or form data `text` holds, or None when it is plain text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            parsed: object = json.loads(stripped)
        except ValueError:
            return None
        return parsed
    looks_like_a_form = "=" in stripped and "&" in stripped and " " not in stripped
    if looks_like_a_form or stripped.startswith("payload="):
        fields = parse_qsl(stripped, keep_blank_values=True)
        return dict(fields) if fields else None
    return None


def _around(text: str, start: int, end: int, margin: int = 40) -> str:
    return text[max(0, start - margin) : end + margin].replace("\n", " ")


def _unique(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        seen.setdefault((finding.sink, finding.kind, finding.value), finding)
    return list(seen.values())
