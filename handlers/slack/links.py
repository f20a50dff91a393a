"""Links from a Slack request to our own pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from handlers import http


def return_url(
    headers: Mapping[str, Sequence[str] | str],
    *,
    public_url: str | None,
    team_id: str,
    payload: Mapping[str, Any],
) -> str:
    """Our return page for a Slack request's user: links back to the app (`api_app_id`)."""
    query = {"team": team_id, "app": str(payload.get("api_app_id") or "")}
    return http.return_url(headers, public_url=public_url, query=query)
