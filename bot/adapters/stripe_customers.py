"""One Stripe Customer per chat user: every saved card is attached to it.

Customers carry the Slack team and user ids as metadata (nothing else), so a
card setup or a hosted page can be traced back to its user without trusting a
webhook's payload: the adapters always re-read the object from Stripe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import stripe

from bot.errors import PaymentUnavailable

if TYPE_CHECKING:
    from stripe import RequestOptions
    from stripe.params import CustomerCreateParams, CustomerSearchParams

TEAM_KEY = "slack_team_id"
USER_KEY = "slack_user_id"
_SLACK_ID = re.compile(r"^[A-Z0-9]{1,32}$")


def find_or_create(
    client: stripe.StripeClient,
    team_id: str,
    user_id: str,
    *,
    options: Callable[[], RequestOptions] = lambda: {},
) -> str:
    """The user's Customer id: found by metadata, else created (idempotently per user).

    `options()` gives each request's options when it is sent (a caller's time budget).
    """
    if not (_SLACK_ID.match(team_id) and _SLACK_ID.match(user_id)):
        raise PaymentUnavailable("unexpected Slack ids for a Stripe customer")
    # Search is eventually consistent on Stripe (about a minute); the idempotency key
    # below covers a second request for the same user inside that window.
    query: CustomerSearchParams = {
        "query": f"metadata['{TEAM_KEY}']:'{team_id}' AND metadata['{USER_KEY}']:'{user_id}'",
        "limit": 1,
    }
    found = client.v1.customers.search(params=query, options=options())
    if found.data:
        return found.data[0].id
    params: CustomerCreateParams = {"metadata": {TEAM_KEY: team_id, USER_KEY: user_id}}
    created = client.v1.customers.create(
        params=params,
        options={**options(), "idempotency_key": f"paybot-customer-{team_id}-{user_id}"},
    )
    return created.id


def is_gone(exc: stripe.StripeError) -> bool:
    """Stripe no longer has the Customer we named (deleted in the Dashboard, say)."""
    return (
        isinstance(exc, stripe.InvalidRequestError)
        and exc.code == "resource_missing"
        and exc.param == "customer"
    )


def owner(customer: object) -> tuple[str, str]:
    """(team, user) from an expanded Customer's metadata; ("", "") when not ours."""
    found = getattr(customer, "metadata", None)
    metadata = found.to_dict() if isinstance(found, stripe.StripeObject) else {}
    return str(metadata.get(TEAM_KEY, "")), str(metadata.get(USER_KEY, ""))
