"""The layout's boundaries: what each part of the product may import.

Ruff's banned-api rule (`TID251`, `pyproject.toml`) keeps chat SDKs, vendor SDKs, the
edges and the stand-ins out of the core; these tests prove that rule fires, and check
the finer rules a per-file ignore cannot say.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAT_SDKS = {"slack_bolt", "slack_sdk", "microsoft_teams"}
VENDOR_SDKS = {"stripe", "boto3", "botocore"}


def imported(path: Path) -> set[str]:
    """The top-level names of every module `path` imports, wherever in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def ruff_findings(source: str, filename: str) -> str:
    """What ruff says of `source` as if it were the file `filename` in this tree."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--stdin-filename", filename],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    return result.stdout


@pytest.mark.parametrize(
    "module", [*sorted(CHAT_SDKS | VENDOR_SDKS | {"handlers", "emulator"}), "slack_bolt.adapter"]
)
def test_the_lint_rule_refuses_each_banned_import_in_the_core(module: str) -> None:
    assert "TID251" in ruff_findings(f"import {module}\n", "bot/probe.py")
    assert "TID251" in ruff_findings(f"from {module} import x\n", "bot/probe.py")


@pytest.mark.parametrize(
    ("filename", "module"),
    [
        ("bot/adapters/probe.py", "stripe"),
        ("handlers/probe.py", "slack_bolt"),
        ("bot/probe.py", "pydantic"),
    ],
)
def test_the_lint_rule_lets_each_part_import_what_it_owns(filename: str, module: str) -> None:
    assert "TID251" not in ruff_findings(f"import {module}\n", filename)


def test_the_core_imports_no_chat_sdk_no_vendor_sdk_no_edge_and_no_stand_in() -> None:
    core = [p for p in modules("bot") if "adapters" not in p.parts and p.name != "__main__.py"]
    assert core
    banned = CHAT_SDKS | VENDOR_SDKS | {"handlers", "emulator"}
    found = {str(p.relative_to(ROOT)): imported(p) & banned for p in core}
    assert {p: names for p, names in found.items() if names} == {}


def test_the_adapters_import_no_chat_sdk_no_edge_and_no_stand_in() -> None:
    banned = CHAT_SDKS | {"handlers", "emulator"}
    found = {str(p.relative_to(ROOT)): imported(p) & banned for p in modules("bot/adapters")}
    assert found
    assert {p: names for p, names in found.items() if names} == {}


def test_the_edges_never_import_a_stand_in() -> None:
    found = {str(p.relative_to(ROOT)): imported(p) & {"emulator"} for p in modules("handlers")}
    assert found
    assert {p: names for p, names in found.items() if names} == {}


def test_the_slack_surface_imports_no_other_chat_sdk() -> None:
    found = {str(p.relative_to(ROOT)): imported(p) for p in modules("handlers/slack")}
    assert found
    assert {p: n & {"microsoft_teams"} for p, n in found.items() if n & {"microsoft_teams"}} == {}


def test_the_teams_surface_imports_no_other_chat_sdk() -> None:
    found = {str(p.relative_to(ROOT)): imported(p) for p in modules("handlers/teams")}
    assert found
    slack = {"slack_bolt", "slack_sdk"}
    assert {p: n & slack for p, n in found.items() if n & slack} == {}


def test_a_slack_only_process_never_imports_the_teams_sdk() -> None:
    """The Teams SDK takes most of a second to import: only a Teams deployment pays it."""
    code = (
        "import sys; from handlers import aws_lambda, routes, server, bootstrap; "
        "teams = ('microsoft_teams', 'handlers.teams'); "
        "print(sorted(m for m in sys.modules if m.startswith(teams)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_python_m_bot_is_only_a_shim_to_the_edge() -> None:
    shim = ROOT / "bot" / "__main__.py"
    assert imported(shim) == {"sys", "handlers"}
    assert len(shim.read_text().splitlines()) <= 8
