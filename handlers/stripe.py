"""Stripe's side: the signed webhook, and the page people return to from Stripe's pages.

Stripe's hosted card page (Checkout), the bank's confirmation of a card (3-D Secure
on a SetupIntent) and of a payment (on a PaymentIntent) each end in one of Stripe's
events and a redirect back here. Either one triggers a re-read of the object from Stripe; the state
machine acts on the first and ignores the other.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlencode

from bot.errors import PaybotError
from bot.machine import Effect
from bot.models import ChatUser
from handlers.http import Answer, header
from handlers.services import EVENT_CLAIM_SECONDS, Services, in_progress_seconds

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/stripe/webhook"
CHECKOUT_EVENTS = frozenset({"checkout.session.completed", "checkout.session.expired"})
SETUP_EVENTS = frozenset({"setup_intent.succeeded", "setup_intent.setup_failed"})
PAYMENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})
REFUND_EVENTS = frozenset({"charge.refunded"})
HANDLED = CHECKOUT_EVENTS | SETUP_EVENTS | PAYMENT_EVENTS | REFUND_EVENTS
_SLACK_ID = re.compile(r"^[A-Z0-9]{1,32}$")
_SETUP_ID = re.compile(r"^seti_[A-Za-z0-9]{1,250}$")
_INTENT_ID = re.compile(r"^pi_[A-Za-z0-9]{1,250}$")

Deliver = Callable[[ChatUser, Sequence[Effect]], None]
"""Posts a conversation's effects to its person, on the surface they are on."""


def webhook(
    body: bytes, headers: Mapping[str, str], services: Services, deliver: Deliver
) -> Answer:
    """Verify, dedupe and act on one Stripe event; 400 and no side effect when unsigned."""
    if services.webhook_secret is None:
        return 404, "text/plain", "webhooks are not configured"
    from bot.adapters.stripe_webhook import InvalidWebhook, verify

    try:
        event = verify(body, header(headers, "Stripe-Signature"), services.webhook_secret)
    except InvalidWebhook as exc:
        log.warning("%s", exc)
        return 400, "text/plain", "invalid signature"
    if event.type not in HANDLED:
        return 200, "text/plain", "ignored"
    claim = f"stripe:{event.id}"
    if not services.ledger.claim(
        claim, ttl_seconds=EVENT_CLAIM_SECONDS, in_progress_seconds=in_progress_seconds()
    ):
        return 200, "text/plain", "duplicate"
    conversation = services.conversation
    act: Callable[[str], tuple[ChatUser | None, tuple[Effect, ...]]] = conversation.checkout_event
    if event.type in SETUP_EVENTS:
        act = conversation.setup_event
    elif event.type in PAYMENT_EVENTS:
        act = conversation.charge_event
    elif event.type in REFUND_EVENTS:
        act = conversation.refund_event
    try:
        user, effects = act(event.object_id)
    except Exception as exc:  # an edge: whatever failed, Stripe must retry, not see a trace
        services.ledger.release(claim)  # the retry must be handled, not skipped as a duplicate
        log.error("webhook %s failed: %s", event.type, type(exc).__name__)
        return 503, "text/plain", "try again"
    if user is not None:
        deliver(user, effects)
    try:
        services.ledger.complete(claim)  # a duplicate for the rest of its window
    except PaybotError as exc:  # answered; the claim lapses with its in-progress expiry
        log.warning("could not complete %s: %s", claim, type(exc).__name__)
    return 200, "text/plain", "ok"


def return_page(
    query: Mapping[str, str], services: Services | None = None, deliver: Deliver | None = None
) -> Answer:
    """A small "done" page; its link goes back to the person's chat (Slack's DM, or Teams).

    Coming back from the bank's confirmation of a card (`setup_intent` in the query,
    added by Stripe), the card setup is re-read from Stripe first, so the DM says how
    it ended even where no webhook is configured.
    """
    setup_id = query.get("setup_intent", "")
    intent_id = query.get("payment_intent", "")
    if services is not None and deliver is not None:
        if _SETUP_ID.match(setup_id):
            _settle(services.conversation.setup_event, setup_id, deliver)
        elif _INTENT_ID.match(intent_id):
            _settle(services.conversation.charge_event, intent_id, deliver)
    team, app = query.get("team", ""), query.get("app", "")
    surface, target = "Slack", "https://slack.com/"
    if query.get("surface") == "teams":
        surface, target = "Teams", "https://teams.microsoft.com/"
    elif _SLACK_ID.match(team) and _SLACK_ID.match(app):
        target = "https://slack.com/app_redirect?" + urlencode({"app": app, "team": team})
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>paybot: done</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:15vh auto;max-width:28rem;text-align:center;
color:#1d1c1d}}a{{display:inline-block;margin-top:1rem;padding:.6rem 1.2rem;border-radius:6px;
background:#007a5a;color:#fff;text-decoration:none;font-weight:600}}</style></head>
<body><h1>Done</h1><p>You can close this page. paybot will confirm in {surface}.</p>
<a href="{html.escape(target)}">Back to {surface}</a></body></html>"""
    return 200, "text/html; charset=utf-8", page


def _settle(
    read: Callable[[str], tuple[ChatUser | None, tuple[Effect, ...]]],
    object_id: str,
    deliver: Deliver,
) -> None:
    """Re-read a card setup or a payment the bank's page just ended, and tell its person."""
    try:
        user, effects = read(object_id)
    except Exception as exc:  # the page still answers; the webhook or a reload settles it
        what = "card setup" if object_id.startswith("seti_") else "payment"
        log.error("%s could not be read back: %s", what, type(exc).__name__)
        return
    if user is not None:
        deliver(user, effects)
