"""The ports the core talks through; adapters implement them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Protocol

from bot.limits import Rate, Take
from bot.models import (
    AuditRecord,
    CardDetails,
    CardSetup,
    Charge,
    ChargeResult,
    ChatUser,
    CheckoutLink,
    CheckoutOutcome,
    Decision,
    RefundResult,
    Session,
    SetupOutcome,
    TermsAcceptance,
)


class SessionStore(Protocol):
    """Per-user conversation state with optimistic locking."""

    def get(self, user: ChatUser) -> Session | None:
        """Return the live session, or None if absent or past `expires_at`."""
        ...

    def save(self, session: Session, *, expected_version: int) -> Session:
        """Write `session` if the stored version is still `expected_version`.

        Returns the stored session (its `version` is `expected_version + 1`).
        Raises `SessionConflict` when someone else wrote first. An expired item
        counts as absent, so `expected_version=0` may replace it.
        """
        ...

    def delete(self, user: ChatUser) -> None:
        """Forget the user: their session and their acceptance of the terms; deleting
        nothing is not an error."""
        ...

    def purge_expired(self) -> int:
        """Delete every session past `expires_at`; return how many were deleted.

        Acceptances of the terms are not sessions: they stay until `delete`."""
        ...

    def get_terms(self, user: ChatUser) -> TermsAcceptance | None:
        """The user's acceptance of the terms, kept apart from their session (it outlives it)."""
        ...

    def put_terms(self, user: ChatUser, acceptance: TermsAcceptance) -> None:
        """Keep `acceptance` until the user is forgotten (`delete`), replacing an older one."""
        ...


class EventLedger(Protocol):
    """Remembers which deliveries were already handled (Slack retries, webhooks).

    A claim is in progress until `complete`; a worker that dies before then
    must not silence the event, so an in-progress claim lapses after
    `in_progress_seconds` and a redelivery may claim the event again.
    """

    def claim(self, event_id: str, *, ttl_seconds: int, in_progress_seconds: int) -> bool:
        """Return True when the caller may handle `event_id` now, else False (a duplicate).

        True for the first claim, for one whose `ttl_seconds` window has passed, and for
        one still in progress after its `in_progress_seconds` (its worker is gone).
        """
        ...

    def complete(self, event_id: str) -> None:
        """Mark a claim's work done: it holds for its whole window; completing nothing is fine."""
        ...

    def release(self, event_id: str) -> None:
        """Undo a claim whose work failed, so a redelivery is handled; releasing nothing is fine."""
        ...


class DialogueEngine(Protocol):
    """Proposes a reply and next step for one user turn; never decides state."""

    def respond(self, session: Session, text: str) -> Decision:
        """`text` is already redacted; the engine must not see card data."""
        ...


class PaymentGateway(Protocol):
    """Saves a card on the user's customer at the payment provider, as the issuer allows."""

    def save_card(
        self,
        card: CardDetails,
        *,
        user: ChatUser,
        customer_id: str | None,
        return_url: str,
        idempotency_key: str,
    ) -> CardSetup:
        """Save `card` for the user (reusing `customer_id` when given); the issuer checks it.

        Returns the saved card, or the page where the cardholder must confirm it with
        their bank (which then returns to `return_url`). Raises `CardRejected` (a
        decline, naming the field to blame), `PaymentUnavailable` or
        `CardEntryUnavailable`. One `idempotency_key` per attempt: a retry of the same
        attempt must not save the card twice.
        """
        ...

    def setup_outcome(self, setup_id: str) -> SetupOutcome:
        """Re-read a card setup from the provider. Raises `PaymentUnavailable`."""
        ...


class PaymentCharger(Protocol):
    """Charges a card saved on the person's customer at the payment provider."""

    def charge(
        self,
        charge: Charge,
        *,
        user: ChatUser,
        customer_id: str,
        return_url: str,
        idempotency_key: str,
    ) -> ChargeResult:
        """Charge `charge.card` for `charge.amount`, confirmed at once, under
        `idempotency_key` (the same key always answers the same one charge).

        A decline is an answer (`status="declined"`), not an error. Raises
        `ChargeUnanswered` when the provider's answer is unknown (the network, a 5xx: the
        charge may have been made) and `PaymentUnavailable` when the provider refused
        the request (nothing was charged).
        """
        ...

    def charge_outcome(self, intent_id: str) -> ChargeResult:
        """Re-read a charge from the provider. Raises `PaymentUnavailable`."""
        ...

    def paid_for(self, reference: str, *, user: ChatUser) -> list[ChargeResult]:
        """The succeeded charges for `reference` in `user`'s workspace (tenant), newest
        first. Raises `PaymentUnavailable`."""
        ...

    def paid_by(self, user: ChatUser, *, limit: int) -> list[ChargeResult]:
        """`user`'s last `limit` succeeded charges, newest first (`paid_at`: when each was
        made). Raises `PaymentUnavailable`."""
        ...

    def refund(
        self,
        intent_id: str,
        *,
        amount: Decimal | None,
        currency: str,
        by: ChatUser,
        idempotency_key: str,
    ) -> RefundResult:
        """Refund `amount` (None: all that is left) of a succeeded charge. Raises
        `RefundRefused` (the provider's reason, safe to show) or `PaymentUnavailable`."""
        ...

    def refunded_charge(self, charge_id: str) -> ChargeResult:
        """The payment a refunded charge (`ch_…`) belongs to, as it is now (`refunded`
        says how much). Raises `PaymentUnavailable`."""
        ...


class HostedCheckout(Protocol):
    """A card page hosted by the payment provider: the card never reaches us."""

    def open(
        self,
        *,
        user: ChatUser,
        customer_id: str | None,
        reference: str,
        return_url: str,
        idempotency_key: str,
        charge: Charge | None = None,
    ) -> CheckoutLink:
        """Open a page for the user (reusing `customer_id` when given): one that saves a
        card, or with `charge`, one that takes that payment (and saves its card).

        `reference` is the session's opaque form reference, echoed back by
        `outcome`. Raises `PaymentUnavailable`.
        """
        ...

    def expire(self, checkout_id: str) -> None:
        """Close an open page so its link stops working; closing a closed one is fine."""
        ...

    def outcome(self, checkout_id: str) -> CheckoutOutcome:
        """Whose page it is, its status, and the saved card once complete."""
        ...


class RateLimiter(Protocol):
    """Token buckets shared by every worker (`bot.limits`); a bucket is named by its key."""

    def take(self, key: str, rate: Rate, *, cost: int = 1) -> Take:
        """Take `cost` tokens from bucket `key` if it holds them, atomically.

        Raises `StoreUnavailable` when the buckets cannot be read or written.
        """
        ...


class AuditLog(Protocol):
    """The payment audit trail: append-only, one record per fact (`AuditRecord.id`)."""

    def append(self, record: AuditRecord) -> bool:
        """Add `record` unless one with its `id` exists; never overwrite.

        Returns False when the fact was already recorded (the caller's duplicate).
        Raises `StoreUnavailable` when the trail cannot be written.
        """
        ...

    def export(self, *, since: int) -> Iterator[AuditRecord]:
        """Every record with `at >= since`, oldest first (ties by `id`).

        Raises `StoreUnavailable` when the trail cannot be read.
        """
        ...
