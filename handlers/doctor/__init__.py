"""`python -m bot doctor`: a deployment's settings checked against the real providers.

Each check prints one line, `ok`, `warn` or `FAIL`, with what it checked and, when something
is wrong, a one-line fix; the exit code is 1 when anything would fail in production.
"""

from __future__ import annotations

from handlers.doctor.report import Check, Status
from handlers.doctor.run import run

__all__ = ["Check", "Status", "run"]
