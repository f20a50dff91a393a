"""Checkout in setup mode: sessions, their expiry, and completion by the hosted page."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Final

from emulator.stripe_api.cards import CardEntry, redact_pans
from emulator.stripe_api.exceptions import JSON, Answer, ApiError, invalid_request, missing_param
from emulator.stripe_api.objects import (
    SESSION_EXPIRES_MAX,
    SESSION_EXPIRES_MIN,
    SessionRequest,
    checkout_session_object,
    complete_session,
    expire_session,
    new_id,
    setup_intent_object,
    success_redirect,
)
from emulator.stripe_api.params import (
    card_only,
    digits_or_none,
    expand_paths,
    metadata,
    text,
    url_param,
)
from emulator.stripe_api.setup_intents import SetupIntentModel
from emulator.stripe_api.store import billing_details, no_such

CREATE_CHECKOUT_SESSION: Final = "POST /v1/checkout/sessions"


class CheckoutModel(SetupIntentModel):
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
        """Save a card on an open session, as a cardholder on its hosted page does; the
        completed session.

        `exp_year` defaults to next year. A card that asks for 3D Secure is then
        authenticated as `authentication` says (`complete` or `fail`). Raises ApiError: 402
        for a malformed card, or one the SetupIntent's confirmation declines; 400
        `setup_intent_authentication_failure` when authentication fails; 404 for an unknown
        session, 400 for one that is not open; ValueError for another `authentication`.
        """
        if authentication not in ("complete", "fail"):
            raise ValueError("authentication must be 'complete' or 'fail'")
        year = exp_year if exp_year is not None else self._year() + 1
        entry = CardEntry(number, str(exp_month), str(year), cvc, name)
        _, intent = self.complete_from_page(session_id, entry)
        if intent["status"] == "requires_action":
            intent = self.authenticate_setup_intent(intent["id"], authentication)
        error = intent["last_setup_error"]
        if error is not None:
            status = 402 if error["type"] == "card_error" else 400
            shown = {key: value for key, value in error.items() if key != "payment_method"}
            raise ApiError(status, shown)
        completed = self.checkout_session(session_id)
        assert completed is not None
        return completed

    def complete_from_page(self, session_id: str, entry: CardEntry) -> tuple[JSON, JSON]:
        """A card submitted on an open session's page: copies of the session and of its
        SetupIntent after confirming the card (`succeeded` completes the session,
        `requires_action` waits for 3D Secure). Raises ApiError as `complete_checkout`.

        Checkout confirms one SetupIntent per session, made at the first attempt with the
        session's customer and `setup_intent_data`, and tried again after a decline.
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
            intent = self._setup_intents.get(self._session_intents.get(session_id, ""))
            error = None if intent is None else intent["last_setup_error"]
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
        """`POST /v1/checkout/sessions` (setup mode); `url` is `{base_url}/pay/{id}`."""
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
        return copy.deepcopy(session)

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
        return self._expanded(copy.deepcopy(session), expand_paths(params))


def session_request(params: Mapping[str, str], now: float) -> SessionRequest:
    """Checkout Session parameters checked as Stripe checks them, setup mode only.

    Stripe's words, as integrators quote them: "Missing required param: success_url."
    (parameter_missing) for the hosted page; "You can not pass `line_items` in `setup`
    mode."; an unknown customer is 400 resource_missing, param customer. In setup mode
    `currency` is "Required ... when `allowed_payment_method_types` is not set"
    (stripe-python's docstring; `payment_method_types` before 2026-09-30); the error
    wording is assumed.
    """
    mode = params.get("mode")
    if not mode:
        raise missing_param("mode")
    if mode != "setup":
        raise invalid_request(
            "Invalid mode: this test API emulates Checkout in `setup` mode only.",
            param="mode",
            code="parameter_invalid_string",
        )
    if any(key.startswith("line_items") for key in params):
        raise invalid_request("You can not pass `line_items` in `setup` mode.", param="line_items")
    if params.get("ui_mode", "hosted_page") not in {"hosted", "hosted_page"}:
        raise invalid_request(
            "Invalid ui_mode: this test API emulates the Stripe-hosted page only.",
            param="ui_mode",
            code="parameter_invalid_string",
        )
    # stripe-python 16 (API 2026-10-28) sends `allowed_payment_method_types`; requests on an
    # API version before 2026-09-30 may send `payment_method_types` instead (the envelope
    # refuses each on the versions that do not know it: `params.PARAM_CHANGES`).
    types = card_only(params, "payment_method_types")
    allowed = card_only(params, "allowed_payment_method_types")
    currency = params.get("currency")
    if currency is not None and not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid_request(f"Invalid currency: {redact_pans(currency)}.", param="currency")
    if currency is None and not types and not allowed:
        raise missing_param("currency")
    customer, customer_email = params.get("customer") or None, text(params, "customer_email")
    if customer is not None and customer_email is not None:
        raise invalid_request(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email",
        )
    return SessionRequest(
        success_url=url_param(params, "success_url", required=True) or "",
        cancel_url=url_param(params, "cancel_url"),
        expires_at=_expires_at(params.get("expires_at"), now),
        customer=customer,
        customer_email=customer_email,
        currency=currency,
        payment_method_types=tuple(types),
        allowed_payment_method_types=tuple(allowed),
        client_reference_id=text(params, "client_reference_id"),
        locale=params.get("locale") or None,
        metadata=metadata(params),
        setup_intent_metadata=metadata(params, "setup_intent_data[metadata]"),
    )


def _expires_at(value_text: str | None, now: float) -> int:
    """`expires_at` 30 minutes to 24 hours ahead, in Stripe's words (no code seen in reports)."""
    if value_text is None:
        return int(now) + SESSION_EXPIRES_MAX
    value = digits_or_none(value_text)
    if value is None:
        raise invalid_request(
            f"Invalid integer: {redact_pans(value_text)}",
            param="expires_at",
            code="parameter_invalid_integer",
        )
    if value < now + SESSION_EXPIRES_MIN:
        raise invalid_request(
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session"
            " creation.",
            param="expires_at",
        )
    if value > now + SESSION_EXPIRES_MAX:
        raise invalid_request(
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            param="expires_at",
        )
    return value
