"""Refunds of a paid Charge, whole or in part, and the Charges themselves."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Final

from emulator.stripe_api.currencies import format_amount
from emulator.stripe_api.exceptions import JSON, Answer, invalid_request
from emulator.stripe_api.objects import new_id
from emulator.stripe_api.params import (
    digits_or_none,
    exclusive,
    expand_paths,
    metadata,
    not_emulated,
)
from emulator.stripe_api.payment_objects import refund_object
from emulator.stripe_api.store import Store, no_such

CREATE_REFUND: Final = "POST /v1/refunds"
_REASONS: Final = ("duplicate", "fraudulent", "requested_by_customer")
_TAKEN: Final = frozenset({"amount", "charge", "payment_intent", "reason", "metadata", "expand"})


class RefundModel(Store):
    """Refunds and Charges on top of the account's state."""

    @property
    def refunds(self) -> list[JSON]:
        """Copies of every Refund, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._refunds.values()))

    def create_refund(
        self,
        params: Mapping[str, str],
        *,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/refunds`, with idempotent replay."""
        return self._idempotent(
            CREATE_REFUND,
            params,
            lambda: self._new_refund(params, request_id, idempotency_key),
            api_key,
            idempotency_key,
            request_id,
        )

    def retrieve_refund(self, refund_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/refunds/{id}`."""
        return self._retrieve(self._refunds, "refund", "refund", refund_id, expand_paths(params))

    def retrieve_charge(self, charge_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/charges/{id}`."""
        return self._retrieve(self._charges, "charge", "charge", charge_id, expand_paths(params))

    # -- internals (called with the lock held)

    def _refunded_charge(self, params: Mapping[str, str]) -> JSON:
        """The Charge a refund request names, by `charge` or by `payment_intent`.

        Stripe: "One of the following params should be provided for this request:
        payment_intent or charge." (its words for a request with neither). Naming both, and
        a PaymentIntent or Charge that was never paid, are refused in our words.
        """
        charge_id, intent_id = params.get("charge") or None, params.get("payment_intent") or None
        if charge_id is None and intent_id is None:
            raise invalid_request(
                "One of the following params should be provided for this request:"
                " payment_intent or charge."
            )
        if charge_id is not None and intent_id is not None:
            raise exclusive("charge", "payment_intent")
        if intent_id is not None:
            intent = self._payment_intents.get(intent_id)
            if intent is None:
                raise no_such("payment_intent", intent_id, "payment_intent", status=400)
            charge_id = intent["latest_charge"] if intent["status"] == "succeeded" else None
            if charge_id is None:
                raise invalid_request(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to"
                    " refund.",
                    param="payment_intent",
                )
        assert charge_id is not None
        charge = self._charges.get(charge_id)
        if charge is None:
            raise no_such("charge", charge_id, "charge", status=400)
        if charge["status"] != "succeeded":
            raise invalid_request(
                f"Charge {charge_id} did not succeed and cannot be refunded.", param="charge"
            )
        return charge

    def _new_refund(
        self, params: Mapping[str, str], request_id: str, idempotency_key: str | None
    ) -> JSON:
        """A Refund of what is left of a Charge, or of `amount` of it.

        Stripe's words, as integrators quote them: "Charge ch_... has already been
        refunded." (`charge_already_refunded`) and "Refund amount ($10.00) is greater than
        unrefunded amount on charge ($5.00)" (`amount_too_large`, param amount).
        """
        for key in params:
            if key.partition("[")[0] not in _TAKEN:
                raise not_emulated(key.partition("[")[0])
        charge = self._refunded_charge(params)
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise invalid_request(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = remaining
        if params.get("amount"):
            amount = digits_or_none(params["amount"]) or 0
            if amount <= 0:
                raise invalid_request(
                    "Invalid positive integer", param="amount", code="parameter_invalid_integer"
                )
            if amount > remaining:
                currency = charge["currency"]
                raise invalid_request(
                    f"Refund amount ({format_amount(amount, currency)}) is greater than"
                    f" unrefunded amount on charge ({format_amount(remaining, currency)})",
                    param="amount",
                    code="amount_too_large",
                )
        reason = params.get("reason") or None
        if reason is not None and reason not in _REASONS:
            raise invalid_request(
                f"Invalid reason: must be one of {', '.join(_REASONS)}",
                param="reason",
                code="parameter_invalid_string",
            )
        refund = refund_object(
            new_id("re_", 24),
            charge,
            amount=amount,
            created=int(self._clock()),
            reason=reason,
            metadata=metadata(params),
        )
        self._refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        events = {"request_id": request_id, "idempotency_key": idempotency_key}
        self._emit("refund.created", refund, **events)
        self._emit("charge.refunded", charge, **events)
        return self._expanded(copy.deepcopy(refund), expand_paths(params))
