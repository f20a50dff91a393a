"""One Stripe Customer per chat user: every saved card is attached to it.

Customers carry the chat user's ids as metadata (nothing else), so a card setup
or a hosted page can be traced back to its user without trusting a webhook's
payload: the adapters always re-read the object from Stripe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import stripe
from pydantic import ValidationError

from bot.models import ChatUser

if TYPE_CHECKING:
    from stripe import RequestOptions
    from stripe.params import CustomerCreateParams, CustomerSearchParams

USER_KEY = "paybot_user"
"""Every Customer paybot creates names its person here: `slack:T0123:U0456`, `teams:…:…`."""
SLACK_TEAM_KEY = "slack_team_id"
SLACK_USER_KEY = "slack_user_id"
"""Slack Customers also carry, and are found by, the two keys they had before Teams existed."""


def find_or_create(
    client: stripe.StripeClient,
    user: ChatUser,
    *,
    options: Callable[[], RequestOptions] = lambda: {},
) -> str:
    """The user's Customer id: found by metadata, else created (idempotently per user).

    One search either way: a Slack person by the keys every Slack Customer has had from
    the start, anyone else by `paybot_user`. `options()` gives each request's options
    when it is sent (a caller's time budget).
    """
    # Search is eventually consistent on Stripe (about a minute); the idempotency key
    # below covers a second request for the same user inside that window.
    query: CustomerSearchParams = {"query": _query(user), "limit": 1}
    found = client.v1.customers.search(params=query, options=options())
    if found.data:
        return found.data[0].id
    params: CustomerCreateParams = {"metadata": metadata(user)}
    created = client.v1.customers.create(
        params=params,
        options={**options(), "idempotency_key": _idempotency_key(user)},
    )
    return created.id


def metadata(user: ChatUser) -> dict[str, str]:
    """What a Customer says about its person: their ids, nothing else."""
    if user.surface == "slack":
        return {
            SLACK_TEAM_KEY: user.tenant_id,
            SLACK_USER_KEY: user.user_id,
            USER_KEY: str(user),
        }
    return {USER_KEY: str(user)}


def _query(user: ChatUser) -> str:
    # ChatUser ids hold no quote or backslash (CHAT_ID_PATTERN), so quoting is plain.
    if user.surface == "slack":
        return (
            f"metadata['{SLACK_TEAM_KEY}']:'{user.tenant_id}'"
            f" AND metadata['{SLACK_USER_KEY}']:'{user.user_id}'"
        )
    return f"metadata['{USER_KEY}']:'{user}'"


def _idempotency_key(user: ChatUser) -> str:
    if user.surface == "slack":  # as before Teams, so a retry across a release still matches
        return f"paybot-customer-{user.tenant_id}-{user.user_id}"
    return f"paybot-customer-{user.surface}-{user.tenant_id}-{user.user_id}"


def is_gone(exc: stripe.StripeError) -> bool:
    """Stripe no longer has the Customer we named (deleted in the Dashboard, say)."""
    return (
        isinstance(exc, stripe.InvalidRequestError)
        and exc.code == "resource_missing"
        and exc.param == "customer"
    )


def owner(customer: object) -> ChatUser | None:
    """The person an expanded Customer belongs to; None when it is not one of paybot's."""
    found = getattr(customer, "metadata", None)
    metadata = found.to_dict() if isinstance(found, stripe.StripeObject) else {}
    surface, _, ids = str(metadata.get(USER_KEY, "")).partition(":")
    tenant_id, _, user_id = ids.partition(":")
    if not surface:  # a Slack Customer from before `paybot_user` existed
        surface = "slack"
        tenant_id = str(metadata.get(SLACK_TEAM_KEY, ""))
        user_id = str(metadata.get(SLACK_USER_KEY, ""))
    try:
        return ChatUser.model_validate(
            {"surface": surface, "tenant_id": tenant_id, "user_id": user_id}
        )
    except ValidationError:
        return None
