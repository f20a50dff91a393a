"""What the listeners are given: the service, the event ledger and a few settings."""

from __future__ import annotations

from dataclasses import dataclass

from bot.ports import EventLedger
from bot.service import ConversationService

EVENT_CLAIM_SECONDS = 24 * 3600
"""How long a delivery is remembered; Slack retries within minutes, Stripe within days."""


@dataclass(frozen=True)
class Services:
    conversation: ConversationService
    ledger: EventLedger
    webhook_secret: str | None = None
    """Verifies Stripe's webhooks; None when the hosted card page is not configured."""
    public_url: str | None = None
    """This app's public base URL, when it can't be derived from the request."""
    signing_secret: str = ""
    """Slack's signing secret, for the HTTP edge's own check before Bolt (see `guard`)."""
