"""What the bot says only on Teams: its help, and why it answers only in a personal chat."""

from __future__ import annotations

HELP = (
    "I collect a payment card safely: you type the card on Stripe's own page, never in "
    "this chat, and this chat only ever shows the brand and last four digits.\n\n"
    "- `pay` opens a secure card page\n"
    "- `pay 45 USD INV-1001` opens it for an amount and reference\n"
    "- `status` shows where things stand\n"
    "- `cancel` stops the current payment\n"
    "- `forget` deletes what I keep about you\n\n"
    "Or just tell me here what you'd like to pay."
)
PERSONAL_ONLY = "I take payments only in a personal chat with you. Message me there."
NO_IDENTITY = "I couldn't tell who you are in Teams, so I can't take a payment here."
COMMANDS = (
    ("pay", "Open a secure card page, e.g. pay 45 USD INV-1001"),
    ("status", "Where your payment stands"),
    ("cancel", "Stop the current payment"),
    ("forget", "Delete what paybot keeps about you"),
    ("help", "What paybot does"),
)
"""The personal-scope command list, as the app manifest declares it."""
