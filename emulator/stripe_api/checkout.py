"""Checkout in setup and payment modes: sessions, their expiry, and completion by the
hosted page."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Final

from emulator.stripe_api.cards import CardEntry, redact_pans
from emulator.stripe_api.checkout_requests import session_request
from emulator.stripe_api.exceptions import JSON, Answer, ApiError, invalid_request
from emulator.stripe_api.objects import (
    checkout_session_object,
    complete_session,
    expire_session,
    new_id,
    setup_intent_object,
    success_redirect,
)
from emulator.stripe_api.params import expand_paths, metadata, text
from emulator.stripe_api.payment_intents import PaymentIntentModel
from emulator.stripe_api.payment_objects import IntentRequest, payment_intent_object
from emulator.stripe_api.store import billing_details, no_such

CREATE_CHECKOUT_SESSION: Final = "POST /v1/checkout/sessions"
_LAST_ERROR: Final = {"setup_intent": "last_setup_error", "payment_intent": "last_payment_error"}


class CheckoutModel(PaymentIntentModel):
    """Checkout Sessions on top of the account's state."""

    @property
    def checkout_sessions(self) -> list[JSON]:
        """Copies of every Checkout Session, oldest first (expiring those past `expires_at`)."""
        with self._lock:
            return [copy.deepcopy(self._refresh(session)) for session in self._sessions.values()]

    def checkout_session(self, session_id: str) -> JSON | None:
        """A copy of one Checkout Session, or None."""
        with self._lock:
            session = self._sessions.get(session_id)
            return None if session is None else copy.deepcopy(self._refresh(session))

    # -- as the hosted page and the tests drive it (any thread)

    def complete_checkout(
        self,
        session_id: str,
        number: str = "4242424242424242",
        *,
        exp_month: int = 12,
        exp_year: int | None = None,
        cvc: str = "123",
        name: str = "Jenny Rosen",
        authentication: str = "complete",
    ) -> JSON:
        """Save a card (setup mode) or pay with it (payment mode) on an open session, as a
        cardholder on its hosted page does; the completed session.

        `exp_year` defaults to next year. A card that asks for 3D Secure is then
        authenticated as `authentication` says (`complete` or `fail`). Raises ApiError: 402
        for a malformed card, or one the confirmation declines; 400
        `setup_intent_authentication_failure` (`payment_intent_...` in payment mode) when
        authentication fails; 404 for an unknown session, 400 for one that is not open;
        ValueError for another `authentication`.
        """
        if authentication not in ("complete", "fail"):
            raise ValueError("authentication must be 'complete' or 'fail'")
        year = exp_year if exp_year is not None else self._year() + 1
        entry = CardEntry(number, str(exp_month), str(year), cvc, name)
        _, intent = self.complete_from_page(session_id, entry)
        if intent["status"] == "requires_action":
            intent = self.authenticate_intent(intent["id"], authentication)
        error = intent[_LAST_ERROR[intent["object"]]]
        if error is not None:
            status = 402 if error["type"] == "card_error" else 400
            shown = {key: value for key, value in error.items() if key != "payment_method"}
            raise ApiError(status, shown)
        completed = self.checkout_session(session_id)
        assert completed is not None
        return completed

    def complete_from_page(self, session_id: str, entry: CardEntry) -> tuple[JSON, JSON]:
        """A card submitted on an open session's page: copies of the session and of its
        SetupIntent or PaymentIntent after confirming the card (`succeeded` completes the
        session, `requires_action` waits for 3D Secure). Raises ApiError as
        `complete_checkout`.

        Checkout confirms one intent per session, made at the first attempt with the
        session's customer and `setup_intent_data` (`payment_intent_data`, amount and
        currency in payment mode), and tried again after a decline.
        """
        card = {
            "number": entry.number,
            "exp_month": entry.exp_month,
            "exp_year": entry.exp_year,
            "cvc": entry.cvc,
        }
        with self._lock:
            session = self._open_session(session_id)
            payment_method = self._card_payment_method(
                card,
                address={},
                billing={**billing_details({}), "name": redact_pans(entry.name)},
                allow_redisplay="limited",
            )
            if session["mode"] == "payment":
                intent = self._session_payment(session)
                intent.update(payment_method=payment_method["id"], status="requires_confirmation")
                self._confirm_payment(intent, off_session=False, events={})
            else:
                intent = self._session_intent(session)
                intent.update(payment_method=payment_method["id"], status="requires_confirmation")
                self._confirm(intent)
            return copy.deepcopy(session), copy.deepcopy(intent)

    def expire_checkout(self, session_id: str) -> JSON:
        """Expire an open session, as `POST /v1/checkout/sessions/{id}/expire` does."""
        with self._lock:
            return self._expire(session_id, request_id=None, idempotency_key=None)

    def page_view(self, session_id: str) -> tuple[JSON | None, str | None, str | None]:
        """For rendering a session's page: the session (copy, or None), its customer's
        email, and what the last failed attempt to save a card said (or None)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None, None, None
            self._refresh(session)
            customer = self._customers.get(session["customer"] or "")
            email = customer["email"] if customer else session["customer_email"]
            intent_id = self._session_intents.get(session_id, "")
            intent = self._setup_intents.get(intent_id) or self._payment_intents.get(intent_id)
            error = None if intent is None else intent[_LAST_ERROR[intent["object"]]]
            message = None if error is None else str(error.get("message") or "")
            return copy.deepcopy(session), email, message

    # -- the API

    def create_checkout_session(
        self,
        params: Mapping[str, str],
        *,
        base_url: str,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/checkout/sessions` (setup or payment mode); `url` is
        `{base_url}/pay/{id}`."""
        return self._idempotent(
            CREATE_CHECKOUT_SESSION,
            params,
            lambda: self._new_checkout_session(params, base_url),
            api_key,
            idempotency_key,
            request_id,
        )

    def retrieve_checkout_session(self, session_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/checkout/sessions/{id}`."""
        with self._lock:
            if session_id in self._sessions:
                self._refresh(self._sessions[session_id])
        return self._retrieve(
            self._sessions, "checkout.session", "session", session_id, expand_paths(params)
        )

    def expire_checkout_session(
        self,
        session_id: str,
        params: Mapping[str, str],
        *,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/checkout/sessions/{id}/expire`, with idempotent replay."""

        def expire() -> JSON:
            expired = self._expire(
                session_id, request_id=request_id, idempotency_key=idempotency_key
            )
            return self._expanded(expired, expand_paths(params))

        endpoint = f"POST /v1/checkout/sessions/{session_id}/expire"
        return self._idempotent(endpoint, params, expire, api_key, idempotency_key, request_id)

    # -- internals (called with the lock held)

    def _session_intent(self, session: JSON) -> JSON:
        """The session's SetupIntent, made at its first card (a session has one)."""
        intent = self._setup_intents.get(self._session_intents.get(session["id"], ""))
        if intent is not None:
            return intent
        intent = setup_intent_object(
            new_id("seti_", 24),
            created=int(self._clock()),
            customer=session["customer"],
            payment_method=None,
            metadata=self._setup_metadata.get(session["id"], {}),
            status="requires_payment_method",
        )
        self._setup_intents[intent["id"]] = intent
        self._session_intents[session["id"]] = intent["id"]
        self._checkout_intents[intent["id"]] = session["id"]
        url = str(session.get("url") or "")
        self._base_urls[intent["id"]] = url.rsplit("/pay/", 1)[0]
        self._emit_intent("setup_intent.created", intent)
        return intent

    def _session_payment(self, session: JSON) -> JSON:
        """The session's PaymentIntent, made at its first card, as Checkout makes it lazily
        (API versions since 2022-08-01): `session.payment_intent` is set from then on."""
        intent = self._payment_intents.get(self._session_intents.get(session["id"], ""))
        if intent is not None:
            return intent
        data = self._payment_data.get(session["id"], {})
        request = IntentRequest(
            amount=int(session["amount_total"]),
            currency=str(session["currency"]),
            customer=session["customer"],
            payment_method=None,
            metadata=metadata(data),
            description=text(data, "description"),
            receipt_email=data.get("receipt_email") or None,
            setup_future_usage=data.get("setup_future_usage") or None,
        )
        intent = payment_intent_object(new_id("pi_", 24), request, created=int(self._clock()))
        self._payment_intents[intent["id"]] = intent
        self._session_intents[session["id"]] = intent["id"]
        self._checkout_payments[intent["id"]] = session["id"]
        session["payment_intent"] = intent["id"]
        url = str(session.get("url") or "")
        self._base_urls[intent["id"]] = url.rsplit("/pay/", 1)[0]
        self._emit("payment_intent.created", intent)
        return intent

    def _payment_settled(self, intent: JSON) -> None:
        """A session's PaymentIntent has succeeded: the session is complete and paid."""
        session = self._sessions.get(self._checkout_payments.get(intent["id"], ""))
        if session is None or intent["status"] != "succeeded" or session["status"] != "open":
            return
        customer = self._customers.get(session["customer"] or "")
        email = customer["email"] if customer else session["customer_email"]
        payment_method = self._payment_methods[
            self._charges[intent["latest_charge"]]["payment_method"]
        ]
        name = payment_method["billing_details"]["name"]
        complete_session(session, payment_intent=intent["id"], email=email, name=name)
        self._emit("checkout.session.completed", session)

    def _payment_redirect_after(self, intent: JSON) -> str | None:
        """After 3D Secure on Checkout's page: `success_url`, or the page again."""
        session = self._sessions.get(self._checkout_payments.get(intent["id"], ""))
        if session is None:
            return super()._payment_redirect_after(intent)
        if session["status"] == "complete":
            return success_redirect(session)
        return f"{self._base_urls.get(intent['id'], '')}/pay/{session['id']}"

    def _settled(self, intent: JSON) -> None:
        """A session's SetupIntent has succeeded: the session is complete."""
        session = self._sessions.get(self._checkout_intents.get(intent["id"], ""))
        if session is None or intent["status"] != "succeeded" or session["status"] != "open":
            return
        customer = self._customers.get(session["customer"] or "")
        email = customer["email"] if customer else session["customer_email"]
        payment_method = self._payment_methods[intent["payment_method"]]
        name = payment_method["billing_details"]["name"]
        complete_session(session, setup_intent=intent["id"], email=email, name=name)
        self._emit("checkout.session.completed", session)

    def _redirect_after(self, intent: JSON) -> str | None:
        """After 3D Secure on Checkout's page: `success_url`, or the page again."""
        session = self._sessions.get(self._checkout_intents.get(intent["id"], ""))
        if session is None:
            return super()._redirect_after(intent)
        if session["status"] == "complete":
            return success_redirect(session)
        return f"{self._base_urls.get(intent['id'], '')}/pay/{session['id']}"

    def _refresh(self, session: JSON) -> JSON:
        """Expire an open session whose `expires_at` has passed (Stripe's own timer)."""
        if session["status"] == "open" and self._clock() >= session["expires_at"]:
            expire_session(session)
            self._emit("checkout.session.expired", session)
            self._cancel_session_payment(session)
        return session

    def _session(self, session_id: str) -> JSON:
        """A stored session, brought up to date; ApiError(404) if there is none."""
        session = self._sessions.get(session_id)
        if session is None:
            raise no_such("checkout.session", session_id, "session", status=404)
        return self._refresh(session)

    def _open_session(self, session_id: str) -> JSON:
        session = self._session(session_id)
        if session["status"] != "open":
            raise invalid_request(
                f"This Checkout Session is no longer open: its status is `{session['status']}`."
            )
        return session

    def _expire(
        self, session_id: str, *, request_id: str | None, idempotency_key: str | None
    ) -> JSON:
        # Stripe's words for a session that is not open, as integrators quote them.
        session = self._session(session_id)
        if session["status"] != "open":
            raise invalid_request(
                'Only Checkout Sessions with a status in ["open"] can be expired. This'
                f" Checkout Session has a status of `{session['status']}`."
            )
        expire_session(session)
        self._emit(
            "checkout.session.expired",
            session,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        self._cancel_session_payment(session)
        return copy.deepcopy(session)

    def _cancel_session_payment(self, session: JSON) -> None:
        """An expired session's unpaid PaymentIntent is canceled, as Stripe cancels it."""
        intent = self._payment_intents.get(self._session_intents.get(session["id"], ""))
        if intent is None or intent["status"] not in ("requires_payment_method", "requires_action"):
            return
        intent.update(status="canceled", canceled_at=int(self._clock()), next_action=None)
        self._emit("payment_intent.canceled", intent)

    def _new_checkout_session(self, params: Mapping[str, str], base_url: str) -> JSON:
        request = session_request(params, self._clock())
        if request.customer is not None and request.customer not in self._customers:
            raise no_such("customer", request.customer, "customer", status=400)
        session_id = new_id("cs_test_", 58)
        session = checkout_session_object(
            session_id, request, url=f"{base_url}/pay/{session_id}", created=int(self._clock())
        )
        self._sessions[session_id] = session
        self._setup_metadata[session_id] = dict(request.setup_intent_metadata or {})
        self._payment_data[session_id] = dict(request.payment_intent_data or {})
        return self._expanded(copy.deepcopy(session), expand_paths(params))
