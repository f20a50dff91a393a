"""What the app manifest says about the app besides its scopes: the events it hears, its tabs.

Slack sends an app only the events its manifest subscribes to
(`settings.event_subscriptions.bot_events`), and shows a Home tab only when
`features.app_home.home_tab_enabled` is true (https://docs.slack.dev/reference/app-manifest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # a dev dependency, like this stand-in

from emulator.slack_scopes import MANIFEST

__all__ = ["manifest_bot_events", "manifest_home_tab_enabled"]


def _manifest(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def manifest_bot_events(path: Path = MANIFEST) -> tuple[str, ...]:
    """`settings.event_subscriptions.bot_events` of the manifest at `path`, in its order."""
    settings = _manifest(path).get("settings") or {}
    events = (settings.get("event_subscriptions") or {}).get("bot_events") or []
    if not isinstance(events, list) or not all(isinstance(event, str) for event in events):
        raise ValueError(f"{path}: settings.event_subscriptions.bot_events is not a list")
    return tuple(events)


def manifest_home_tab_enabled(path: Path = MANIFEST) -> bool:
    """Whether the manifest at `path` turns the app's Home tab on."""
    features = _manifest(path).get("features") or {}
    return (features.get("app_home") or {}).get("home_tab_enabled") is True
