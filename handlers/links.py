"""Where Stripe's hosted page sends people back: our own `GET /stripe/return`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

RETURN_PATH = "/stripe/return"


def header(headers: Mapping[str, Sequence[str] | str], name: str) -> str:
    """A header's (first) value by case-insensitive name; "" when absent.

    API Gateway lower-cases names, other callers may not; Bolt keeps lists of values.
    """
    wanted = name.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), "")
    return value if isinstance(value, str) else (value[0] if value else "")


def base_url(headers: Mapping[str, Sequence[str] | str], public_url: str | None) -> str:
    """`public_url` if set, else the scheme and host this request was sent to."""
    if public_url:
        return public_url.rstrip("/")
    host = header(headers, "host")
    loopback = host.startswith(("127.0.0.1", "localhost", "[::1]"))
    scheme = header(headers, "x-forwarded-proto") or ("http" if loopback else "https")
    return f"{scheme}://{host}"


def return_url(
    headers: Mapping[str, Sequence[str] | str],
    *,
    public_url: str | None,
    team_id: str,
    payload: Mapping[str, Any],
) -> str:
    """Our return page for a Slack request's user: links back to the app (`api_app_id`)."""
    query = urlencode({"team": team_id, "app": str(payload.get("api_app_id") or "")})
    return f"{base_url(headers, public_url)}{RETURN_PATH}?{query}"
