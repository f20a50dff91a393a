"""Security figures: the leak sweep and the signature fuzz, as `pytest tests/security` reports.

Not a timing: counts of card numbers injected and found, and of forged requests
accepted. The suite writes each headline to `test-artifacts/security/`; this
runs it and collects those lines for BENCHMARKS.md.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "security"


@dataclass(frozen=True)
class SecurityFigures:
    passed: bool
    lines: list[str]


def measure() -> SecurityFigures:
    """Run the security suite once; its figures, and whether every test passed."""
    for old in ARTIFACTS.glob("*.txt"):
        old.unlink()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/security"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [path.read_text(encoding="utf-8").strip() for path in sorted(ARTIFACTS.glob("*.txt"))]
    return SecurityFigures(passed=done.returncode == 0, lines=lines)


if __name__ == "__main__":
    figures = measure()
    print("\n".join(figures.lines))
    print("all security tests passed" if figures.passed else "SECURITY TESTS FAILED")
