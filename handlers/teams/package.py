"""The Teams app package: `manifest.json` and its two icons, zipped for upload to Teams.

Manifest schema v1.22 (Microsoft's current GA version). The bot is personal-scope
only: card payments happen in a chat with the one person paying, never in a team
or a group chat. The command list is `copy.COMMANDS`, the words the listeners take.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from typing import Any

from handlers.teams.copy import COMMANDS

MANIFEST_VERSION = "1.22"
SCHEMA = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
COLOR_ICON_PIXELS = 192
OUTLINE_ICON_PIXELS = 32
ACCENT = (0x00, 0x7A, 0x5A)


def manifest(
    app_id: str, *, website_url: str, privacy_url: str, terms_url: str, version: str = "1.0.0"
) -> dict[str, Any]:
    """The app manifest for the bot `app_id` (the app and its bot share the id)."""
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "paybot",
            "websiteUrl": website_url,
            "privacyUrl": privacy_url,
            "termsOfUseUrl": terms_url,
        },
        "name": {"short": "paybot", "full": "paybot: pay an invoice by card"},
        "description": {
            "short": "Pay an invoice by card in a chat, the card typed only on Stripe's page.",
            "full": (
                "paybot takes a card payment in a personal chat. Tell it what you are paying; "
                "it opens Stripe's own secure page for the card, so the number never passes "
                "through Teams, and confirms here with the card's brand and last four digits."
            ),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": app_id,
                "scopes": ["personal"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["personal"],
                        "commands": [
                            {"title": title, "description": description}
                            for title, description in COMMANDS
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def png(size: int, rgba: tuple[int, int, int, int]) -> bytes:
    """A square PNG of one colour (Teams wants 192 px in colour, 32 px white on transparent)."""
    row = b"\x00" + bytes(rgba) * size  # filter type 0, then the pixels
    raw = zlib.compress(row * size, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def package(app_manifest: dict[str, Any]) -> bytes:
    """The zip Teams takes: the manifest and both icons at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(app_manifest, indent=2))
        archive.writestr("color.png", png(COLOR_ICON_PIXELS, (*ACCENT, 255)))
        archive.writestr("outline.png", png(OUTLINE_ICON_PIXELS, (255, 255, 255, 255)))
    return buffer.getvalue()
