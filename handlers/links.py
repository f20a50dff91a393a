"""Where Stripe's hosted page sends people back: our own `GET /stripe/return`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

RETURN_PATH = "/stripe/return"


def _first(headers: Mapping[str, Sequence[str] | str], name: str) -> str:
    value = headers.get(name) or headers.get(name.title()) or ""
    return value if isinstance(value, str) else (value[0] if value else "")


def base_url(headers: Mapping[str, Sequence[str] | str], public_url: str | None) -> str:
    """`public_url` if set, else the scheme and host this request was sent to."""
    if public_url:
        return public_url.rstrip("/")
    host = _first(headers, "host")
    loopback = host.startswith(("127.0.0.1", "localhost", "[::1]"))
    scheme = _first(headers, "x-forwarded-proto") or ("http" if loopback else "https")
    return f"{scheme}://{host}"


def return_url(
    headers: Mapping[str, Sequence[str] | str],
    *,
    public_url: str | None,
    team_id: str,
    app_id: str,
) -> str:
    query = urlencode({"team": team_id, "app": app_id})
    return f"{base_url(headers, public_url)}{RETURN_PATH}?{query}"
