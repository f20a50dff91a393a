"""Domain errors: the only failures the core and the edges ever see.

Adapters translate SDK exceptions (stripe, botocore, slack_sdk) into these at
their boundary, so nothing above them imports a vendor's error types.
"""

from __future__ import annotations


class PaybotError(Exception):
    """Root of every domain error; `user_message` is always safe to show."""

    user_message = "Something went wrong on our side. Nothing was saved; please try again."

    def __init__(self, message: str | None = None, *, user_message: str | None = None) -> None:
        super().__init__(message or user_message or self.user_message)
        if user_message is not None:
            self.user_message = user_message


class SessionConflict(PaybotError):
    """The session changed since it was read (optimistic locking lost the race)."""


class CardRejected(PaybotError):
    """The card details are wrong; `field` names the modal field to blame."""

    def __init__(self, field: str, user_message: str, *, code: str | None = None) -> None:
        super().__init__(f"card rejected on {field}", user_message=user_message)
        self.field = field
        self.code = code
        """The provider's decline code (e.g. `insufficient_funds`), for the metrics only."""


class PaymentUnavailable(PaybotError):
    """The payment service could not be reached or refused us; nothing was saved."""

    user_message = (
        "The payment service is unavailable right now. "
        "Nothing was saved; please try again in a minute."
    )


class ChargeUnanswered(PaymentUnavailable):
    """A charge request got no definite answer (the network, the provider's 5xx): it may
    have been made. Resending it under the same idempotency key is safe."""


class RefundRefused(PaybotError):
    """The provider refused a refund (already refunded, more than is left); its reason is
    `user_message`."""


class CardEntryUnavailable(PaybotError):
    """The Stripe account does not accept raw card numbers from servers."""

    user_message = "Card entry is not available right now. Nothing was saved."


class StoreUnavailable(PaybotError):
    """The session store could not be reached after retries."""
