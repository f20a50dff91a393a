"""Stripe's search query language, for `GET /v1/customers/search`, and its result pages.

Search is eventually consistent on Stripe (new objects appear within about a minute);
here they appear at once. An unreadable query is a 400 naming `query`, worded by us.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from emulator.stripe_api.exceptions import JSON


class SearchQueryError(ValueError):
    """A search query this emulator cannot read; the message says where."""


@dataclass(frozen=True)
class SearchClause:
    """`field:'value'` (exact), `field~'value'` (substring), `-` in front negates."""

    field: str
    key: str | None  # the metadata key, for metadata['key']
    operator: str
    value: str
    negated: bool

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether `obj` satisfies this clause."""
        if self.key is not None:
            actual = (obj.get("metadata") or {}).get(self.key)
        else:
            actual = obj.get(self.field)
        if not isinstance(actual, str):
            found = False
        elif self.operator == "~":
            found = self.value.lower() in actual.lower()
        elif self.field == "email":
            found = actual.lower() == self.value.lower()
        else:
            found = actual == self.value
        return found != self.negated


@dataclass(frozen=True)
class SearchQuery:
    """Clauses joined by AND (all must match) or OR (any may)."""

    clauses: tuple[SearchClause, ...]
    any_of: bool = False

    def matches(self, obj: Mapping[str, Any]) -> bool:
        """Whether `obj` is a result of this query."""
        results = (clause.matches(obj) for clause in self.clauses)
        return any(results) if self.any_of else all(results)


_QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_CLAUSE = re.compile(
    rf"(?P<neg>-)?(?P<field>[a-z_]+)(?:\[(?P<key>{_QUOTED})\])?(?P<op>[:~])(?P<value>{_QUOTED})"
)
_JOINER = re.compile(r"\s+(AND|OR)\s+")
MAX_CLAUSES: Final = 10


def parse_search_query(text: str, fields: frozenset[str]) -> SearchQuery:
    """Read Stripe's search query language: `email:'a@b.c' AND metadata['k']:'v'`.

    Supported: string fields named in `fields` plus `metadata['key']`, the `:` (exact) and
    `~` (substring, 3 characters at least) operators, `-` negation, and clauses joined all
    by AND or all by OR. Raises SearchQueryError otherwise.
    """
    clauses: list[SearchClause] = []
    joiners: set[str] = set()
    position, text = 0, text.strip()
    while True:
        match = _CLAUSE.match(text, position)
        if match is None:
            raise SearchQueryError(f"could not read a clause at character {position + 1}")
        clauses.append(_clause(match, fields))
        position = match.end()
        if position == len(text):
            break
        joiner = _JOINER.match(text, position)
        if joiner is None:
            raise SearchQueryError(f"expected AND or OR at character {position + 1}")
        joiners.add(joiner.group(1))
        position = joiner.end()
    if len(joiners) > 1:
        raise SearchQueryError("AND and OR cannot be combined in one query")
    if len(clauses) > MAX_CLAUSES:
        raise SearchQueryError(f"a query has at most {MAX_CLAUSES} clauses")
    return SearchQuery(tuple(clauses), any_of=joiners == {"OR"})


def _clause(match: re.Match[str], fields: frozenset[str]) -> SearchClause:
    field, key = match.group("field"), match.group("key")
    if (key is None) == (field == "metadata") or (key is None and field not in fields):
        raise SearchQueryError(f"`{field}` is not a field this search supports")
    value = _unquote(match.group("value"))
    if match.group("op") == "~" and len(value) < 3:
        raise SearchQueryError("a substring (~) search needs at least 3 characters")
    return SearchClause(
        field=field,
        key=None if key is None else _unquote(key),
        operator=match.group("op"),
        value=value,
        negated=match.group("neg") is not None,
    )


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def search_page(results: Sequence[JSON], *, url: str, limit: int, offset: int) -> JSON:
    """Stripe's `search_result` list for one page of `results`."""
    page = list(results[offset : offset + limit])
    has_more = offset + limit < len(results)
    return {
        "object": "search_result",
        "data": page,
        "has_more": has_more,
        "next_page": str(offset + limit) if has_more else None,
        "url": url,
    }
