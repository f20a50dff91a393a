"""`python -m bot teams package`: the Teams app zip holds a manifest Teams accepts."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from handlers.teams.copy import COMMANDS
from handlers.teams.package import MANIFEST_VERSION, SCHEMA

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "teams", "package", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        check=False,
    )


@pytest.fixture
def package(tmp_path: Path) -> zipfile.ZipFile:
    out = tmp_path / "paybot-teams.zip"
    done = run("--app-id", APP_ID, "--website-url", "https://pay.example.com", "--output", str(out))
    assert done.returncode == 0, done.stderr
    return zipfile.ZipFile(out)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_zip_holds_the_manifest_and_both_icons_at_its_root(package: zipfile.ZipFile) -> None:
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert png_size(package.read("color.png")) == (192, 192)
    assert png_size(package.read("outline.png")) == (32, 32)


def test_the_manifest_names_the_bot_in_personal_scope_with_its_commands(
    package: zipfile.ZipFile,
) -> None:
    manifest = json.loads(package.read("manifest.json"))
    assert (manifest["$schema"], manifest["manifestVersion"]) == (SCHEMA, MANIFEST_VERSION)
    assert manifest["id"] == APP_ID
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert bot["scopes"] == ["personal"]
    (commands,) = bot["commandLists"]
    assert [c["title"] for c in commands["commands"]] == [title for title, _ in COMMANDS]
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands["commands"])
    assert len(manifest["name"]["short"]) <= 30
    assert len(manifest["description"]["short"]) <= 80
    assert manifest["developer"]["privacyUrl"] == "https://pay.example.com"


def test_the_command_list_is_what_the_listeners_take() -> None:
    from handlers.teams.listeners import _WORDS

    assert {title for title, _ in COMMANDS} == {*_WORDS, "pay"}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--website-url", "https://pay.example.com"], "--app-id"),
        (["--app-id", "not-a-guid", "--website-url", "https://x.example"], "GUID"),
        (["--app-id", APP_ID], "--website-url must be an https:// URL"),
        (["--app-id", APP_ID, "--website-url", "http://pay.example.com"], "https://"),
        (
            ["--app-id", APP_ID, "--website-url", "https://x.example", "--output", "/nope/x.zip"],
            "cannot write",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(args: list[str], says: str) -> None:
    done = run(*args)
    assert done.returncode == 1
    assert says in done.stderr
    assert "Traceback" not in done.stderr
