"""What the listeners are given: the service and the event ledger."""

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
