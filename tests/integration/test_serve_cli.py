"""`python -m bot serve`: starts on loopback, answers health, stops cleanly, fails clearly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.integration.harness import app_environment


def environment(tmp_path: Path, **overrides: str) -> dict[str, str]:
    app = app_environment(
        slack_url="http://127.0.0.1:9",
        stripe_url="http://127.0.0.1:9",
        sqlite_path=tmp_path / "s.db",
        LOG_LEVEL="INFO",
    )
    return {**os.environ, **app, **overrides}


STOP_LIMIT_SECONDS = 60
"""Only a hang gets this far: an idle stop takes well under a second, but on busy shared cores
(and under coverage, which saves its data at exit) it has taken longer than ten."""


def test_serve_answers_health_and_stops_on_interrupt(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/slack/events", line)
        assert match, line
        with urllib.request.urlopen(f"http://127.0.0.1:{match[1]}/health", timeout=30) as answer:
            assert answer.status == 200
        process.send_signal(signal.SIGINT)
        # communicate, not wait: a child blocked writing to a full pipe would never exit
        _, errors = process.communicate(timeout=STOP_LIMIT_SECONDS)
        assert process.returncode == 0
        assert "Traceback" not in errors
    finally:
        process.kill()


def test_a_bad_setting_stops_serve_naming_the_variable(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=environment(tmp_path, SESSION_STORE="mongo"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "SESSION_STORE" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_secret_stops_serve_naming_the_variable(tmp_path: Path) -> None:
    env = environment(tmp_path)
    del env["SLACK_SIGNING_SECRET"]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "SLACK_SIGNING_SECRET" in result.stderr
