"""Fakes for our own ports: small, honest implementations kept in memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bot.errors import CardRejected, PaybotError, SessionConflict, StoreUnavailable
from bot.limits import Rate, Take, take
from bot.models import (
    CardDetails,
    CardSetup,
    Charge,
    ChatUser,
    CheckoutLink,
    CheckoutOutcome,
    Decision,
    PaymentRecord,
    Session,
    SetupOutcome,
    TermsAcceptance,
)


def slack_user(tenant_id: str = "T", user_id: str = "U") -> ChatUser:
    """A Slack member as the core knows them."""
    return ChatUser(surface="slack", tenant_id=tenant_id, user_id=user_id)


class MemoryStore:
    """A `SessionStore` with the same optimistic-locking contract as the real ones."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.rows: dict[str, Session] = {}
        """Sessions by `ChatUser.key`."""
        self.terms: dict[str, TermsAcceptance] = {}
        self.clock = clock or FakeClock()
        self.saves = 0
        self._lock = threading.Lock()

    def get(self, user: ChatUser) -> Session | None:
        found = self.rows.get(user.key)
        return found if found and found.expires_at > self.clock() else None

    def save(self, session: Session, *, expected_version: int) -> Session:
        with self._lock:
            current = self.get(session.user)
            if (current.version if current else 0) != expected_version:
                raise SessionConflict("version moved")
            stored = session.evolve(version=expected_version + 1)
            self.rows[session.user.key] = stored
            self.saves += 1
            return stored

    def delete(self, user: ChatUser) -> None:
        self.rows.pop(user.key, None)
        self.terms.pop(user.key, None)

    def get_terms(self, user: ChatUser) -> TermsAcceptance | None:
        return self.terms.get(user.key)

    def put_terms(self, user: ChatUser, acceptance: TermsAcceptance) -> None:
        self.terms[user.key] = acceptance

    def purge_expired(self) -> int:
        with self._lock:
            expired = [key for key, row in self.rows.items() if row.expires_at <= self.clock()]
            for key in expired:
                del self.rows[key]
            return len(expired)


class MemoryLedger:
    """An `EventLedger` in memory, with the same expiry rules as the real ones."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.claims: dict[str, tuple[float, float | None]] = {}
        """event id -> (expires at, in progress until; None once complete)."""
        self.clock = clock or FakeClock()
        self._lock = threading.Lock()

    def claim(self, event_id: str, *, ttl_seconds: int, in_progress_seconds: int) -> bool:
        with self._lock:
            now = self.clock()
            found = self.claims.get(event_id)
            if found is not None:
                expires_at, in_progress_until = found
                if expires_at > now and (in_progress_until is None or in_progress_until > now):
                    return False
            self.claims[event_id] = (int(now) + ttl_seconds, now + in_progress_seconds)
            return True

    def complete(self, event_id: str) -> None:
        with self._lock:
            if event_id in self.claims:
                self.claims[event_id] = (self.claims[event_id][0], None)

    def release(self, event_id: str) -> None:
        with self._lock:
            self.claims.pop(event_id, None)


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class RecordingEngine:
    """A `DialogueEngine` that answers with a fixed decision and records what it saw."""

    decision: Decision = field(default_factory=lambda: Decision(reply="ok"))
    seen: list[str] = field(default_factory=list)

    def respond(self, session: Session, text: str) -> Decision:
        self.seen.append(text)
        return self.decision


VISA = PaymentRecord(
    payment_method_id="pm_fake1", brand="visa", last4="4242", exp_month=8, exp_year=2030
)


@dataclass
class FakeGateway:
    """A `PaymentGateway` that saves `result` or raises `error`; records what it was asked.

    With `authenticate=True` the bank wants a confirmation first: the setup waits in
    `outcomes` until the test calls `authenticate(setup_id, ok)`.
    """

    result: PaymentRecord = VISA
    error: PaybotError | None = None
    authenticate: bool = False
    keys: list[str] = field(default_factory=list)
    last4_seen: list[str] = field(default_factory=list)
    customers_seen: list[str | None] = field(default_factory=list)
    return_urls: list[str] = field(default_factory=list)
    outcomes: dict[str, SetupOutcome] = field(default_factory=dict)

    def save_card(
        self,
        card: CardDetails,
        *,
        user: ChatUser,
        customer_id: str | None,
        return_url: str,
        idempotency_key: str,
    ) -> CardSetup:
        self.keys.append(idempotency_key)
        self.last4_seen.append(card.number[-4:])
        self.customers_seen.append(customer_id)
        self.return_urls.append(return_url)
        if self.error is not None:
            raise self.error
        setup_id = f"seti_fake{len(self.keys)}"
        customer = customer_id or "cus_fake"
        if self.authenticate:
            self.outcomes[setup_id] = SetupOutcome(setup_id, user, "pending")
            return CardSetup(setup_id, customer, authenticate_url=f"https://bank/{setup_id}")
        self.outcomes[setup_id] = SetupOutcome(setup_id, user, "succeeded", self.result)
        return CardSetup(setup_id, customer, payment=self.result)

    def setup_outcome(self, setup_id: str) -> SetupOutcome:
        return self.outcomes[setup_id]

    def settle(self, setup_id: str, *, ok: bool, message: str = "") -> None:
        """The cardholder finished (or failed) the bank's check for `setup_id`."""
        found = self.outcomes[setup_id]
        self.outcomes[setup_id] = SetupOutcome(
            setup_id,
            found.user,
            "succeeded" if ok else "failed",
            self.result if ok else None,
            message,
        )


def declined(field_name: str, message: str = "declined") -> CardRejected:
    return CardRejected(field_name, message)


@dataclass
class FakeHostedCheckout:
    """A `HostedCheckout` whose pages are completed or expired by the test."""

    opened: list[dict[str, str | None]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    outcomes: dict[str, CheckoutOutcome] = field(default_factory=dict)
    error: PaybotError | None = None

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
        if self.error is not None:
            raise self.error
        checkout_id = f"cs_test_{len(self.opened) + 1}"
        self.opened.append(
            {"customer_id": customer_id, "reference": reference, "key": idempotency_key}
        )
        self.outcomes[checkout_id] = CheckoutOutcome(checkout_id, user, reference, "open")
        return CheckoutLink(checkout_id, customer_id or "cus_fake", f"https://pay/{checkout_id}")

    def expire(self, checkout_id: str) -> None:
        self.expired.append(checkout_id)

    def outcome(self, checkout_id: str) -> CheckoutOutcome:
        return self.outcomes[checkout_id]

    def complete(self, checkout_id: str, payment: PaymentRecord = VISA) -> None:
        page = self.outcomes[checkout_id]
        self.outcomes[checkout_id] = CheckoutOutcome(
            checkout_id, page.user, page.reference, "complete", payment
        )

    def lapse(self, checkout_id: str) -> None:
        page = self.outcomes[checkout_id]
        self.outcomes[checkout_id] = CheckoutOutcome(
            checkout_id, page.user, page.reference, "expired"
        )


class MemoryLimiter:
    """A `RateLimiter` in memory: `bot.limits`' buckets, or an outage when `down`."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.tats: dict[str, float] = {}
        self.down = False
        self._lock = threading.Lock()

    def take(self, key: str, rate: Rate, *, cost: int = 1) -> Take:
        if self.down:
            raise StoreUnavailable("DynamoDB UpdateItem failed: ServiceUnavailable")
        with self._lock:
            taken = take(self.tats.get(key), now=self.clock(), rate=rate, cost=cost)
            if taken.allowed:
                self.tats[key] = taken.tat
            return taken
