"""Adapters built on first use, so a cold start loads no vendor SDK it does not need."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.ports import HostedCheckout, PaymentCharger, PaymentGateway

if TYPE_CHECKING:
    from bot.models import (
        CardDetails,
        CardSetup,
        Charge,
        ChargeResult,
        ChatUser,
        CheckoutLink,
        CheckoutOutcome,
        RefundResult,
        SetupOutcome,
    )


class LazyGateway:
    """Builds the real gateway on first use, keeping Stripe's SDK out of the cold start."""

    def __init__(self, factory: Callable[[], PaymentGateway]) -> None:
        self._factory = factory
        self._gateway: PaymentGateway | None = None

    def _get(self) -> PaymentGateway:
        if self._gateway is None:
            self._gateway = self._factory()
        return self._gateway

    def save_card(
        self,
        card: CardDetails,
        *,
        user: ChatUser,
        customer_id: str | None,
        return_url: str,
        idempotency_key: str,
    ) -> CardSetup:
        return self._get().save_card(
            card,
            user=user,
            customer_id=customer_id,
            return_url=return_url,
            idempotency_key=idempotency_key,
        )

    def setup_outcome(self, setup_id: str) -> SetupOutcome:
        return self._get().setup_outcome(setup_id)


class LazyHostedCheckout:
    """The Stripe Checkout adapter, built on first use like `LazyGateway`."""

    def __init__(self, factory: Callable[[], HostedCheckout]) -> None:
        self._factory = factory
        self._hosted: HostedCheckout | None = None

    def _get(self) -> HostedCheckout:
        if self._hosted is None:
            self._hosted = self._factory()
        return self._hosted

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
        return self._get().open(
            user=user,
            customer_id=customer_id,
            reference=reference,
            return_url=return_url,
            idempotency_key=idempotency_key,
            charge=charge,
        )

    def expire(self, checkout_id: str) -> None:
        self._get().expire(checkout_id)

    def outcome(self, checkout_id: str) -> CheckoutOutcome:
        return self._get().outcome(checkout_id)


class LazyCharger:
    """The Stripe charges adapter, built on first use like `LazyGateway`."""

    def __init__(self, factory: Callable[[], PaymentCharger]) -> None:
        self._factory = factory
        self._charger: PaymentCharger | None = None

    def _get(self) -> PaymentCharger:
        if self._charger is None:
            self._charger = self._factory()
        return self._charger

    def charge(
        self,
        charge: Charge,
        *,
        user: ChatUser,
        customer_id: str,
        return_url: str,
        idempotency_key: str,
    ) -> ChargeResult:
        return self._get().charge(
            charge,
            user=user,
            customer_id=customer_id,
            return_url=return_url,
            idempotency_key=idempotency_key,
        )

    def charge_outcome(self, intent_id: str) -> ChargeResult:
        return self._get().charge_outcome(intent_id)

    def paid_for(self, reference: str, *, user: ChatUser) -> list[ChargeResult]:
        return self._get().paid_for(reference, user=user)

    def paid_by(self, user: ChatUser, *, limit: int) -> list[ChargeResult]:
        return self._get().paid_by(user, limit=limit)

    def refund(
        self,
        intent_id: str,
        *,
        amount: Decimal | None,
        currency: str,
        by: ChatUser,
        idempotency_key: str,
    ) -> RefundResult:
        return self._get().refund(
            intent_id, amount=amount, currency=currency, by=by, idempotency_key=idempotency_key
        )

    def refunded_charge(self, charge_id: str) -> ChargeResult:
        return self._get().refunded_charge(charge_id)
