"""The suite's headline figures: kept for the terminal summary and written to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "security"

_recorded: dict[str, str] = {}


def record(name: str, line: str) -> Path:
    """Keep `line` as figure `name` and write it to `test-artifacts/security/<name>.txt`."""
    _recorded.pop(name, None)  # the latest figure goes last: a running total ends the list
    _recorded[name] = line
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.txt"
    path.write_text(line + "\n", encoding="utf-8")
    return path


def recorded() -> dict[str, str]:
    return dict(_recorded)
