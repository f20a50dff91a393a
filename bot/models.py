"""The core's data: sessions, payment records, engine decisions, card details."""

from __future__ import annotations

import dataclasses
import json
import logging
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.cards import contains_pan
from bot.money import ISO_CURRENCIES, MAX_AMOUNT, within_limits

MAX_HISTORY = 20
"""Turns kept per session: enough context for the engine, bounded cost per turn."""

MAX_OFFER_POSTS = 8
"""Live offer messages a session tracks; a new offer replaces the ones before it."""
MAX_POST_REF = 128
"""How long a surface's name for a posted message may be."""

MAX_TURN_CHARS = 4000
"""Characters of one message the dialogue reads (and keeps); the rest is never parsed."""

REFERENCE_PATTERN = r"^[A-Za-z0-9]+(?:[-/_][A-Za-z0-9]+)*$"
"""An invoice reference: `INV-1001`, `PO/55`, `1001`; never markup, spaces or punctuation."""


Surface = Literal["slack", "teams"]
"""The chat surfaces a conversation can be on."""

CHAT_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
"""A tenant or user id as a surface gives it: Slack's `T0123`, an Entra GUID. Never `#` or
`:`, which separate the parts of a store key and of `str(ChatUser)`."""


class ChatUser(BaseModel):
    """Who a conversation is with: the surface, the tenant on it, and the person there.

    On Slack the tenant is the workspace (or Enterprise Grid org) and the user a
    member id; on Teams the tenant is the Entra tenant and the user their object id.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    surface: Surface = "slack"
    tenant_id: str = Field(pattern=CHAT_ID_PATTERN)
    user_id: str = Field(pattern=CHAT_ID_PATTERN)

    @property
    def scope(self) -> str:
        """The tenant as stores key it: a Slack team id as it always was, others prefixed."""
        return self.tenant_id if self.surface == "slack" else f"{self.surface}#{self.tenant_id}"

    @property
    def key(self) -> str:
        """The person's key in a store: `T0123#U0456`, `teams#<tenant>#<user>`."""
        return f"{self.scope}#{self.user_id}"

    def __str__(self) -> str:
        return f"{self.surface}:{self.tenant_id}:{self.user_id}"


class State(StrEnum):
    IDLE = "idle"
    COLLECTING = "collecting"
    AWAITING_CARD = "awaiting_card"
    CONFIRMING = "confirming"
    """PAYMENT_MODE=charge: a saved card and a payment's summary wait for the Pay press,
    and then for the provider's answer."""
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Intent(StrEnum):
    GREET = "greet"
    PAY = "pay"
    HELP = "help"
    STATUS = "status"
    CANCEL = "cancel"
    CONFIRM = "confirm"
    OTHER = "other"


class NextStep(StrEnum):
    """The only steps an engine may propose (DESIGN.md, "Dialogue")."""

    ASK = "ask"
    OFFER_CARD_FORM = "offer_card_form"
    HELP = "help"
    CANCEL = "cancel"


class Slots(BaseModel):
    """Non-card facts about the payment, gathered during the conversation.

    One grammar for every engine, the rule engine's: an amount within
    `money.within_limits` for its currency, an ISO 4217 code from
    `money.ISO_CURRENCIES`, a reference made of letters, digits and `-/_` only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Decimal | None = Field(default=None, gt=0, lt=MAX_AMOUNT, allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    reference: str | None = Field(default=None, max_length=64, pattern=REFERENCE_PATTERN)
    email: str | None = Field(default=None, max_length=254)

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, currency: str | None) -> str | None:
        if currency is not None and currency not in ISO_CURRENCIES:
            raise ValueError("not a currency we know")
        return currency

    @model_validator(mode="after")
    def _amount_fits_currency(self) -> Slots:
        if self.amount is not None and not within_limits(self.amount, self.currency):
            raise ValueError("more decimals than the currency has")
        return self

    def merged(self, update: Slots) -> Slots:
        """Return these slots with every value `update` sets taken from it.

        An amount and a currency that do not fit together (`¥` with decimals) keep the
        one `update` sets; the other is dropped, to be asked for again.
        """
        values = {**self.model_dump(), **update.model_dump(exclude_none=True)}
        amount, currency = values["amount"], values["currency"]
        if amount is not None and not within_limits(amount, currency):
            values["currency" if update.amount is not None else "amount"] = None
        return Slots.model_validate(values)


class Turn(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "bot"]
    text: str = Field(max_length=4000)


class PaymentRecord(BaseModel):
    """All we ever keep of a card: Stripe's token and what Stripe says about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payment_method_id: str = Field(pattern=r"^pm_[A-Za-z0-9_]+$", max_length=255)
    brand: str = Field(max_length=32)
    last4: str = Field(pattern=r"^[0-9]{4}$")
    exp_month: int = Field(ge=1, le=12)
    exp_year: int = Field(ge=2000, le=2100)


ChargeStatus = Literal[
    "proposed", "charging", "requires_action", "succeeded", "failed", "cancelled"
]
"""Where a charge is: shown for confirmation; sent to the provider (the claim); waiting on
the cardholder's bank; paid (only ever on the provider's word); declined; never pressed."""


class Charge(BaseModel):
    """A payment the person is asked to confirm (PAYMENT_MODE=charge), and what became of it.

    `key` names the offer: the Pay button carries it, so a press on an older offer's button
    never pays this one. `attempt` counts offers for one reference: the provider's
    idempotency key is derived from the person, the reference and the attempt, so a
    redelivered or double press (same attempt) can never charge twice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    attempt: int = Field(ge=1)
    amount: Decimal = Field(gt=0, lt=MAX_AMOUNT, allow_inf_nan=False)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(max_length=64, pattern=REFERENCE_PATTERN)
    card: PaymentRecord | None = None
    """The saved card Pay charges; None for a payment taken on the provider's own page,
    whose card is the one typed there."""
    email: str | None = Field(default=None, max_length=254)
    status: ChargeStatus = "proposed"
    since: int | None = None
    """When the charge was sent to the provider (status `charging`): the in-progress claim."""
    intent_id: str | None = Field(default=None, pattern=r"^pi_[A-Za-z0-9_]+$", max_length=255)
    """The provider's PaymentIntent, once it answered."""


class Receipt(BaseModel):
    """A paid charge, as the person is shown it and as `/pay payments` lists it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    intent_id: str = Field(pattern=r"^pi_[A-Za-z0-9_]+$", max_length=255)
    amount: Decimal = Field(gt=0, lt=MAX_AMOUNT, allow_inf_nan=False)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    reference: str = Field(max_length=64, pattern=REFERENCE_PATTERN)
    brand: str = Field(max_length=32)
    last4: str = Field(pattern=r"^[0-9]{4}$")
    paid_at: int = Field(ge=0)
    receipt_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=2048)


AuditAction = Literal[
    "charge_attempted",
    "charge_succeeded",
    "charge_requires_action",
    "charge_failed",
    "refund_created",
    "refund_succeeded",
    "refund_failed",
    "refund_refused",
]


class AuditRecord(BaseModel):
    """One fact of the payment audit trail: appended once, never changed.

    `id` is derived from the fact itself (the action and the provider's object, or our
    idempotency key), so the same fact reported twice (a webhook and a re-read, a
    redelivery) is one record. Card data is never here: brand and last four at most.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9:_#.-]{1,200}$")
    at: int = Field(ge=0)
    """Seconds since the epoch, when the fact was recorded."""
    action: AuditAction
    actor: str = Field(max_length=200)
    """Who did it: `slack:T…:U…` for a person, `stripe` for what the provider reported."""
    payer: str = Field(max_length=200)
    """Whose payment it is (`slack:T…:U…`)."""
    amount: Decimal | None = Field(default=None, ge=0, lt=MAX_AMOUNT, allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    reference: str | None = Field(default=None, max_length=64, pattern=REFERENCE_PATTERN)
    intent_id: str | None = Field(default=None, max_length=255)
    refund_id: str | None = Field(default=None, max_length=255)
    brand: str | None = Field(default=None, max_length=32)
    last4: str | None = Field(default=None, pattern=r"^[0-9]{4}$")
    detail: str | None = Field(default=None, max_length=200)
    """A decline code, a refusal's reason: never free text a person typed."""

    @model_validator(mode="after")
    def _no_card_numbers(self) -> AuditRecord:
        # `actor` and `payer` are platform ids (`teams:<tenant GUID>:<user GUID>`), whose
        # digit groups can read as a card number: as in `Session`, they are not searched.
        for value in _strings(self.model_dump(mode="json", exclude={"actor", "payer"})):
            if contains_pan(value):
                raise ValueError("an audit record must never hold a card number")
        return self


class ReplyAddress(BaseModel):
    """Where a surface that cannot message a person by id alone reaches their chat.

    Teams: the personal chat's conversation id and the regional service URL Teams
    gave with the person's last activity (a confirmation goes back through it).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=512)
    service_url: str = Field(pattern=r"^https?://[^\s]+$", max_length=512)


class TermsAcceptance(BaseModel):
    """A person accepted the deployment's terms (TERMS_URL at TERMS_VERSION) at `accepted_at`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=2048)
    version: str = Field(min_length=1, max_length=64)
    accepted_at: int = Field(ge=0)

    def covers(self, terms: Terms) -> bool:
        """Whether this acceptance is of `terms` as they stand (same page, same version)."""
        return (self.url, self.version) == (terms.url, terms.version)


@dataclasses.dataclass(frozen=True)
class Terms:
    """The terms a deployment asks people to accept before any card entry."""

    url: str
    version: str


class Session(BaseModel):
    """One user's conversation with the bot; the unit of locking and expiry.

    Stored as JSON. A Slack session is stored exactly as before Teams existed (its
    tenant under `team_id`, no `surface`), so a release from before reads it back.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", serialize_by_alias=True)

    surface: Surface = Field(default="slack", exclude_if=lambda surface: surface == "slack")
    tenant_id: str = Field(
        pattern=CHAT_ID_PATTERN,
        validation_alias=AliasChoices("tenant_id", "team_id"),
        serialization_alias="team_id",
    )
    user_id: str = Field(pattern=CHAT_ID_PATTERN)
    state: State = State.IDLE
    slots: Slots = Slots()
    history: tuple[Turn, ...] = ()
    card_form_offered: bool = False
    form_ref: str | None = Field(default=None, max_length=64)
    attempt: int = Field(default=0, ge=0)
    pending_since: int | None = None
    """Set while a card submission is with the payment service (the in-progress claim)."""
    checkout_id: str | None = Field(default=None, max_length=255)
    """The open Stripe-hosted card page (CARD_ENTRY=hosted), if any."""
    customer_id: str | None = Field(default=None, max_length=255)
    """The user's Stripe Customer, which every saved card is attached to; reused."""
    setup_id: str | None = Field(default=None, max_length=255)
    """A card setup waiting on the cardholder's bank (3-D Secure), if any."""
    payment: PaymentRecord | None = None
    charge: Charge | None = Field(default=None, exclude_if=lambda charge: charge is None)
    """The payment offered for confirmation (PAYMENT_MODE=charge), and what became of it;
    kept after the conversation ends, so a late answer from the provider still finds it."""
    reply_to: ReplyAddress | None = Field(default=None, exclude_if=lambda address: address is None)
    """Where to reach the person's chat, on surfaces that need one (see `ReplyAddress`)."""
    terms: TermsAcceptance | None = Field(default=None, exclude_if=lambda terms: terms is None)
    """The person's acceptance of the terms, when the deployment has terms (TERMS_URL).
    Also kept apart from the session (`SessionStore.put_terms`): it outlives the session."""
    offer_posts: tuple[Annotated[str, Field(max_length=MAX_POST_REF)], ...] = Field(
        default=(), max_length=MAX_OFFER_POSTS, exclude_if=lambda posts: not posts
    )
    """The chat messages holding this conversation's live offers (buttons a person may
    still press), as the surface names them; closed in place when the offer ends."""
    version: int = Field(default=0, ge=0)
    expires_at: int = 0

    @field_validator("history")
    @classmethod
    def _bounded(cls, history: tuple[Turn, ...]) -> tuple[Turn, ...]:
        return history[-MAX_HISTORY:]

    @model_validator(mode="after")
    def _no_card_numbers(self) -> Session:
        # Defence in depth: redaction happens before text gets here, but a
        # session that somehow carries a PAN must not be built, let alone saved.
        # Ids the chat platform assigned (a tenant, a person, a chat) are not people's
        # words: a UUID's digit groups can read as a card number, and must not lock
        # that person out.
        for value in _strings(self.model_dump(mode="json", exclude=_PLATFORM_IDS)):
            if contains_pan(value):
                raise ValueError("a session must never hold a card number")
        return self

    @property
    def user(self) -> ChatUser:
        return ChatUser(surface=self.surface, tenant_id=self.tenant_id, user_id=self.user_id)

    @classmethod
    def new(cls, user: ChatUser) -> Session:
        return cls(surface=user.surface, tenant_id=user.tenant_id, user_id=user.user_id)

    @classmethod
    def from_stored(cls, data: str) -> Session:
        """A session as a store holds it (JSON).

        Slots stored before a rule tightened (a currency, reference or decimals now
        refused) are dropped rather than making the person's session unreadable; every
        other field, the version included, must still be valid.
        """
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            if not any(error["loc"][:1] == ("slots",) for error in exc.errors()):
                raise
        logging.getLogger(__name__).warning("stored session slots no longer valid; dropped")
        return cls.model_validate({**json.loads(data), "slots": {}})

    def evolve(self, **changes: Any) -> Session:
        """A copy with `changes`, validated again (model_copy would skip the PAN check)."""
        return Session.model_validate({**dict(self), **changes})

    def with_turn(self, role: Literal["user", "bot"], text: str) -> Session:
        """Append a (redacted) turn, keeping the history bounded."""
        return self.evolve(history=(*self.history, Turn(role=role, text=text[:4000])))


_PLATFORM_IDS = {"surface", "tenant_id", "user_id", "reply_to", "offer_posts"}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


class Decision(BaseModel):
    """What a dialogue engine proposes for one turn; the state machine decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reply: str = Field(max_length=3000)
    intent: Intent = Intent.OTHER
    next_step: NextStep = NextStep.ASK
    slots: Slots = Slots()


@dataclasses.dataclass(frozen=True)
class CheckoutLink:
    """A Stripe-hosted card page just opened for a user; `url` is a bearer link."""

    checkout_id: str
    customer_id: str
    url: str


@dataclasses.dataclass(frozen=True)
class CheckoutOutcome:
    """What Stripe says about a hosted card page: whose it is and how it ended."""

    checkout_id: str
    user: ChatUser | None
    """None when the page's customer is not one of paybot's."""
    reference: str
    status: Literal["open", "complete", "expired"]
    payment: PaymentRecord | None = None
    intent_id: str | None = None
    """A payment page's PaymentIntent (PAYMENT_MODE=charge): its state says paid or not."""


@dataclasses.dataclass(frozen=True)
class CardSetup:
    """What the payment service answered to a card: saved, or waiting on the bank.

    Exactly one of `payment` (saved) and `authenticate_url` (the cardholder must
    confirm with their bank first, on a page of the provider's) is set.
    """

    setup_id: str
    customer_id: str
    payment: PaymentRecord | None = None
    authenticate_url: str | None = None


@dataclasses.dataclass(frozen=True)
class SetupOutcome:
    """What the provider says about a card setup now: whose it is and how it ended."""

    setup_id: str
    user: ChatUser | None
    """None when the setup's customer is not one of paybot's."""
    status: Literal["succeeded", "failed", "pending"]
    payment: PaymentRecord | None = None
    message: str = ""
    """For a failure: what the user may be told (the provider's safe wording)."""


@dataclasses.dataclass(frozen=True)
class ChargeResult:
    """What the provider says about a charge (a PaymentIntent), now.

    `user` and `key` come from the intent's own metadata as the provider returns it:
    whose payment it is and which offer it answers; None when it is not one of paybot's.
    `status`: `succeeded` (paid), `requires_action` (the bank's check on
    `authenticate_url`), `declined` (`message` is safe to show, `code` is the decline
    code), or `pending` (still with the provider: its webhook settles it).
    """

    intent_id: str
    user: ChatUser | None
    key: str | None
    status: Literal["succeeded", "requires_action", "declined", "pending"]
    amount: Decimal
    currency: str
    reference: str | None = None
    brand: str | None = None
    last4: str | None = None
    paid_at: int | None = None
    receipt_url: str | None = None
    authenticate_url: str | None = None
    message: str = ""
    code: str | None = None
    refunded: Decimal = Decimal(0)
    """How much of a succeeded charge has been refunded so far."""

    def receipt(self) -> Receipt | None:
        """The receipt of a succeeded charge; None when it is not one, or lacks a detail."""
        if self.status != "succeeded" or self.reference is None or self.paid_at is None:
            return None
        return Receipt(
            intent_id=self.intent_id,
            amount=self.amount,
            currency=self.currency,
            reference=self.reference,
            brand=self.brand or "card",
            last4=self.last4 or "0000",
            paid_at=self.paid_at,
            receipt_url=self.receipt_url,
        )


@dataclasses.dataclass(frozen=True)
class RefundResult:
    """What the provider says about a refund of a paybot payment."""

    refund_id: str
    intent_id: str
    status: Literal["succeeded", "pending", "failed"]
    amount: Decimal
    currency: str


@dataclasses.dataclass(frozen=True, repr=False)
class CardDetails:
    """Card data in memory for the length of one tokenization; never stored or logged."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str
    name: str

    def __repr__(self) -> str:
        return "CardDetails(<redacted>)"

    __str__ = __repr__
