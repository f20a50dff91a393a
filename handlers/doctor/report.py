"""What one check found, and how the findings are printed: one line each, secrets masked."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "warn", "FAIL"]

# The part of a credential that says what kind it is, and nothing of the secret itself.
_KIND_PREFIX = re.compile(r"^(?:[sr]k_(?:test|live)_|xox[a-z]-|whsec_)")


@dataclass(frozen=True)
class Check:
    """One finding: `fix` says, in one line, what to do about a failure or a warning."""

    name: str
    status: Status
    detail: str
    fix: str | None = None

    def line(self) -> str:
        text = f"{self.status:<4} {self.name}: {self.detail}"
        return f"{text} Fix: {self.fix}" if self.fix else text


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warn(name: str, detail: str, fix: str | None = None) -> Check:
    return Check(name, "warn", detail, fix)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, "FAIL", detail, fix)


def mask(secret: str) -> str:
    """The credential's kind prefix (`sk_test_`, `xoxb-`, `whsec_`) and an ellipsis, no more."""
    found = _KIND_PREFIX.match(secret)
    return f"{found.group(0) if found else ''}…"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value that stands alone masked (not inside a longer word)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        alone = re.compile(rf"(?<![\w-]){re.escape(secret)}(?![\w-])")
        text = alone.sub(mask(secret), text)
    return text


def exit_code(checks: Sequence[Check]) -> int:
    """1 when anything would fail in production; warnings alone are 0."""
    return 1 if any(check.status == "FAIL" for check in checks) else 0


def summary(checks: Sequence[Check]) -> str:
    failed, warned = (sum(c.status == status for c in checks) for status in ("FAIL", "warn"))
    verdict = "not ready" if failed else "ready"
    warnings = "1 warning" if warned == 1 else f"{warned} warnings"
    return f"{verdict}: {failed} failed, {warnings}, {len(checks) - failed - warned} ok"
