"""`python -m bot serve` answers from the one route table, as the Lambda entry does."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.harness import running_paybot


def status(url: str, method: str) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def test_the_server_answers_only_what_the_route_table_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_paybot(tmp_path, monkeypatch) as paybot:
        answers = {
            (method, path): status(paybot.url + path, method)
            for method, path in [
                ("GET", "/health"),
                ("HEAD", "/health"),
                ("GET", "/slack/events"),
                ("GET", "/stripe/webhook"),
                ("POST", "/stripe/return"),
                ("POST", "/api/messages"),
                ("POST", "/nowhere"),
            ]
        }
    assert answers == {
        ("GET", "/health"): (200, "ok"),
        ("HEAD", "/health"): (200, ""),
        ("GET", "/slack/events"): (404, "not found"),
        ("GET", "/stripe/webhook"): (404, "not found"),
        ("POST", "/stripe/return"): (404, "not found"),
        ("POST", "/api/messages"): (404, "not found"),  # Teams is off without TEAMS_APP_ID
        ("POST", "/nowhere"): (404, "not found"),
    }
