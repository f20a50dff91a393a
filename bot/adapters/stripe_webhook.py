"""Verify Stripe's webhook signature on the raw body and read what we need from the event."""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from bot.errors import PaybotError

TOLERANCE_SECONDS = 300
"""Older signatures are refused: a replayed delivery must not be accepted."""


class InvalidWebhook(PaybotError):
    """The body is not a Stripe event signed with our secret within the tolerance."""


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object_id: str


def verify(payload: bytes, signature: str | None, secret: str) -> WebhookEvent:
    """The event, if `signature` (the `Stripe-Signature` header) signs `payload` with `secret`."""
    if not signature:
        raise InvalidWebhook("missing Stripe-Signature")
    try:
        event = stripe.Webhook.construct_event(
            payload.decode("utf-8"), signature, secret, tolerance=TOLERANCE_SECONDS
        )
    except Exception as exc:  # any failure to verify (a non-ASCII signature makes
        # hmac.compare_digest raise TypeError) is an invalid signature, never a 500
        raise InvalidWebhook(f"rejected webhook: {type(exc).__name__}") from None
    data = getattr(event, "data", None)
    target = getattr(data, "object", None)
    return WebhookEvent(id=event.id, type=event.type, object_id=str(getattr(target, "id", "")))
