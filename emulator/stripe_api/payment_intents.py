"""PaymentIntents: a saved card charged, declined or sent to 3D Secure as Stripe's test
cards are, with the Charge each attempt makes."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Final, NoReturn

from emulator.stripe_api.cards import (
    AUTHENTICATE,
    AUTHENTICATE_UNLESS_SET_UP,
    AUTHENTICATION_REQUIRED,
    Decline,
    redact_pans,
)
from emulator.stripe_api.currencies import checked_amount, checked_currency
from emulator.stripe_api.exceptions import (
    JSON,
    Answer,
    ApiError,
    card_error,
    invalid_request,
    missing_param,
)
from emulator.stripe_api.objects import new_id, redirect_next_action
from emulator.stripe_api.params import (
    automatic_payment_methods,
    boolean,
    card_only,
    digits_or_none,
    expand_paths,
    metadata,
    not_emulated,
    text,
    url_param,
)
from emulator.stripe_api.payment_objects import IntentRequest, charge_object, payment_intent_object
from emulator.stripe_api.search import SearchQueryError, parse_search_query, search_page
from emulator.stripe_api.setup_intents import SetupIntentModel, with_query
from emulator.stripe_api.store import no_such

CREATE_PAYMENT_INTENT: Final = "POST /v1/payment_intents"
PAYMENT_AUTHENTICATION_FAILED: Final = (
    "The provided PaymentMethod has failed authentication. You can provide"
    " payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent"
    " again."
)
"""`last_payment_error.message` after failed 3D Secure, as Stripe's events carry it."""

_OPEN: Final = ("requires_payment_method", "requires_confirmation", "requires_action")
_CANCELABLE: Final = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
_CANCELLATION_REASONS: Final = frozenset(
    {"abandoned", "duplicate", "fraudulent", "requested_by_customer"}
)
_SEARCH_FIELDS: Final = frozenset({"status", "currency", "customer"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_THREE_D_SECURE_OPTION: Final = "payment_method_options[card][request_three_d_secure]"
# What this API acts on; every other parameter stripe-python types for the endpoint is
# refused by name rather than ignored, so that a test never believes in an effect it did
# not get.
_TAKEN_ON_CREATE: Final = frozenset(
    {
        "amount",
        "currency",
        "customer",
        "payment_method",
        "confirm",
        "off_session",
        "return_url",
        "receipt_email",
        "description",
        "metadata",
        "setup_future_usage",
        "capture_method",
        "automatic_payment_methods",
        "allowed_payment_method_types",
        "payment_method_types",
        "payment_method_options",
        "expand",
    }
)
_TAKEN_ON_CONFIRM: Final = frozenset(
    {
        "payment_method",
        "off_session",
        "return_url",
        "receipt_email",
        "setup_future_usage",
        "payment_method_options",
        "expand",
    }
)


class PaymentIntentModel(SetupIntentModel):
    """PaymentIntents and their Charges on top of the account's state."""

    @property
    def payment_intents(self) -> list[JSON]:
        """Copies of every PaymentIntent, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._payment_intents.values()))

    def payment_intent(self, intent_id: str) -> JSON | None:
        """A copy of one PaymentIntent, or None."""
        with self._lock:
            return copy.deepcopy(self._payment_intents.get(intent_id))

    @property
    def charges(self) -> list[JSON]:
        """Copies of every Charge, oldest first."""
        with self._lock:
            return copy.deepcopy(list(self._charges.values()))

    def charge(self, charge_id: str) -> JSON | None:
        """A copy of one Charge, or None."""
        with self._lock:
            return copy.deepcopy(self._charges.get(charge_id))

    # -- 3D Secure, for SetupIntents and PaymentIntents alike (the bank's page)

    def authentication_intent(self, intent_id: str) -> JSON | None:
        """A copy of the SetupIntent or PaymentIntent a bank page is for, or None."""
        with self._lock:
            found = self._payment_intents.get(intent_id) or self._setup_intents.get(intent_id)
            return copy.deepcopy(found)

    def authenticate_intent(self, intent_id: str, outcome: str) -> JSON:
        """`authenticate_payment_intent` for a `pi_` id, else `authenticate_setup_intent`."""
        if intent_id.startswith("pi_"):
            return self.authenticate_payment_intent(intent_id, outcome)
        return self.authenticate_setup_intent(intent_id, outcome)

    def authenticate_payment_intent(self, intent_id: str, outcome: str) -> JSON:
        """Finish the 3D Secure step of a PaymentIntent in `requires_action`: `complete` (it
        is paid) or `fail` (back to `requires_payment_method`); the PaymentIntent after.

        Raises ValueError for another outcome, ApiError 404 for an unknown PaymentIntent and
        400 `payment_intent_unexpected_state` for one not waiting for authentication.
        """
        if outcome not in ("complete", "fail"):
            raise ValueError("outcome must be 'complete' or 'fail'")
        with self._lock:
            intent = self._stored_payment_intent(intent_id, status=404)
            if intent["status"] != "requires_action":
                raise invalid_request(
                    "This PaymentIntent is not waiting for authentication: its status is"
                    f" `{intent['status']}`.",
                    code="payment_intent_unexpected_state",
                )
            payment_method = self._payment_methods[intent["payment_method"]]
            if outcome == "complete":
                self._pay(intent, payment_method, authenticated=True, events={})
            else:
                self._fail_payment_authentication(intent, payment_method)
            return copy.deepcopy(intent)

    def authentication_redirect(self, intent_id: str) -> str | None:
        """Where the cardholder goes once 3D Secure is over: the `return_url` with
        `payment_intent` (or `setup_intent`), its client secret and `redirect_status`."""
        with self._lock:
            intent = self._payment_intents.get(intent_id)
            if intent is not None:
                return self._payment_redirect_after(intent)
        return super().authentication_redirect(intent_id)

    # -- the API

    def create_payment_intent(
        self,
        params: Mapping[str, str],
        *,
        base_url: str,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/payment_intents`, confirming at once when `confirm` is true."""
        return self._idempotent(
            CREATE_PAYMENT_INTENT,
            params,
            lambda: self._new_payment_intent(params, base_url, request_id, idempotency_key),
            api_key,
            idempotency_key,
            request_id,
        )

    def retrieve_payment_intent(self, intent_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/payment_intents/{id}` (a `client_secret` is accepted and not needed)."""
        return self._retrieve(
            self._payment_intents, "payment_intent", "intent", intent_id, expand_paths(params)
        )

    def confirm_payment_intent(
        self,
        intent_id: str,
        params: Mapping[str, str],
        *,
        base_url: str,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/payment_intents/{id}/confirm`."""

        def confirm() -> JSON:
            _refuse_others(params, _TAKEN_ON_CONFIRM)
            intent = self._stored_payment_intent(intent_id, status=404)
            if intent["status"] in _OPEN:
                if params.get("payment_method"):
                    self._owned_payment_method(params["payment_method"], intent["customer"])
                    intent["payment_method"] = params["payment_method"]
                if params.get("receipt_email"):
                    intent["receipt_email"] = _email(params, "receipt_email")
                if params.get("setup_future_usage"):
                    intent["setup_future_usage"] = _future_usage(params)
            return_url = _return_url(params)
            if return_url is not None:
                self._return_urls[intent_id] = return_url
            self._base_urls[intent_id] = base_url
            events = {"request_id": request_id, "idempotency_key": idempotency_key}
            self._confirm_payment(intent, off_session=_off_session(params), events=events)
            return self._expanded(copy.deepcopy(intent), expand_paths(params))

        endpoint = f"POST /v1/payment_intents/{intent_id}/confirm"
        return self._idempotent(endpoint, params, confirm, api_key, idempotency_key, request_id)

    def cancel_payment_intent(
        self,
        intent_id: str,
        params: Mapping[str, str],
        *,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/payment_intents/{id}/cancel`, from the statuses Stripe lists.

        A PaymentIntent that Checkout made is canceled by expiring its session (Stripe's
        rule; the error's wording is ours).
        """

        def cancel() -> JSON:
            intent = self._stored_payment_intent(intent_id, status=404)
            if intent_id in self._checkout_payments:
                raise invalid_request(
                    "You cannot cancel a PaymentIntent created by a Checkout Session. Expire"
                    " the Checkout Session instead.",
                    code="payment_intent_unexpected_state",
                )
            if intent["status"] not in _CANCELABLE:
                raise _unexpected_state("cancel", intent, _CANCELABLE)
            reason = params.get("cancellation_reason") or None
            if reason is not None and reason not in _CANCELLATION_REASONS:
                choices = ", ".join(sorted(_CANCELLATION_REASONS))
                raise invalid_request(
                    f"Invalid cancellation_reason: must be one of {choices}",
                    param="cancellation_reason",
                    code="parameter_invalid_string",
                )
            intent.update(
                status="canceled",
                cancellation_reason=reason,
                canceled_at=int(self._clock()),
                next_action=None,
            )
            self._emit(
                "payment_intent.canceled",
                intent,
                request_id=request_id,
                idempotency_key=idempotency_key,
            )
            return self._expanded(copy.deepcopy(intent), expand_paths(params))

        endpoint = f"POST /v1/payment_intents/{intent_id}/cancel"
        return self._idempotent(endpoint, params, cancel, api_key, idempotency_key, request_id)

    def search_payment_intents(self, params: Mapping[str, str]) -> Answer:
        """`GET /v1/payment_intents/search`: `metadata['key']`, `status`, `currency`,
        `customer` (exact, `:`), newest first, `limit` (1-100) per page.

        Stripe also searches `amount` and `created` with comparisons; not emulated.
        """
        query_text = params.get("query")
        if query_text is None:
            raise missing_param("query")
        try:
            query = parse_search_query(query_text, _SEARCH_FIELDS)
        except SearchQueryError as exc:
            raise invalid_request(f"Invalid search query: {exc}.", param="query") from None
        limit = digits_or_none(params.get("limit", "10"))
        if limit is None or not 1 <= limit <= 100:
            raise invalid_request("Limit must be between 1 and 100.", param="limit")
        offset = digits_or_none(params.get("page", "0"))
        if offset is None:
            raise invalid_request("Invalid page: not a page of this search.", param="page")
        paths = [path.removeprefix("data.") for path in expand_paths(params)]
        with self._lock:
            found = [
                self._expanded(copy.deepcopy(intent), paths)
                for intent in reversed(self._payment_intents.values())
                if query.matches(intent)
            ]
        page = search_page(found, url="/v1/payment_intents/search", limit=limit, offset=offset)
        return Answer(200, page)

    # -- internals (called with the lock held)

    def _stored_payment_intent(self, intent_id: str, *, status: int) -> JSON:
        intent = self._payment_intents.get(intent_id)
        if intent is None:
            raise no_such("payment_intent", intent_id, "intent", status=status)
        return intent

    def _owned_payment_method(self, payment_method_id: str, customer: str | None) -> JSON:
        """A usable PaymentMethod that belongs to `customer`, if it belongs to anyone.

        stripe-python's `PaymentIntentCreateParams.payment_method`: "If the payment method
        is attached to a Customer, you must also provide the ID of that Customer as the
        customer parameter". A card attached to another customer is refused in the words
        integrators quote; the wording for a missing `customer` is ours.
        """
        payment_method = self._check_payment_method(payment_method_id)
        owner = payment_method["customer"]
        if owner is not None and customer is None:
            raise invalid_request(
                f"The provided PaymentMethod is attached to a Customer ({owner}). Provide that"
                " Customer as `customer` to use it with this PaymentIntent.",
                param="customer",
            )
        if owner is not None and owner != customer:
            raise invalid_request(
                "The customer does not have a payment method with the ID"
                f" {payment_method_id}. The payment method must be attached to the customer.",
                param="payment_method",
            )
        return payment_method

    def _new_payment_intent(
        self,
        params: Mapping[str, str],
        base_url: str,
        request_id: str,
        idempotency_key: str | None,
    ) -> JSON:
        request, confirm = self._intent_request(params)
        intent = payment_intent_object(new_id("pi_", 24), request, created=int(self._clock()))
        if params.get(_THREE_D_SECURE_OPTION):  # kept; every card behaves as its test card
            card = intent["payment_method_options"]["card"]
            card["request_three_d_secure"] = params[_THREE_D_SECURE_OPTION]
        return_url = _return_url(params)
        if return_url is not None:
            self._return_urls[intent["id"]] = return_url
        if confirm:
            try:
                self._payment_confirmable(intent)  # a request that cannot confirm creates nothing
            except ApiError:
                self._return_urls.pop(intent["id"], None)
                raise
        self._payment_intents[intent["id"]] = intent
        self._base_urls[intent["id"]] = base_url
        events = {"request_id": request_id, "idempotency_key": idempotency_key}
        self._emit("payment_intent.created", intent, **events)
        if confirm:
            self._confirm_payment(intent, off_session=_off_session(params), events=events)
        return self._expanded(copy.deepcopy(intent), expand_paths(params))

    def _intent_request(self, params: Mapping[str, str]) -> tuple[IntentRequest, bool]:
        """The checked parameters of `POST /v1/payment_intents`, and whether to confirm."""
        _refuse_others(params, _TAKEN_ON_CREATE)
        for key in params:
            if key.startswith("payment_method_options") and key != _THREE_D_SECURE_OPTION:
                raise not_emulated("payment_method_options")
        currency = checked_currency(params)
        amount = checked_amount(params, currency)
        customer = params.get("customer") or None
        if customer is not None and customer not in self._customers:
            raise no_such("customer", customer, "customer", status=400)
        payment_method = params.get("payment_method") or None
        if payment_method is not None:
            self._owned_payment_method(payment_method, customer)
        confirm = boolean(params, "confirm")
        for only_with_confirm in ("off_session", "return_url"):
            if params.get(only_with_confirm) and not confirm:
                # "This parameter can only be used with confirm=true" (stripe-python's
                # docstring); the error's wording is ours.
                raise invalid_request(
                    f"`{only_with_confirm}` can only be used with `confirm=true`.",
                    param=only_with_confirm,
                )
        capture_method = params.get("capture_method", "automatic_async")
        if capture_method not in ("automatic", "automatic_async"):
            raise not_emulated("capture_method")
        request = IntentRequest(
            amount=amount,
            currency=currency,
            customer=customer,
            payment_method=payment_method,
            metadata=metadata(params),
            description=text(params, "description"),
            receipt_email=_email(params, "receipt_email"),
            setup_future_usage=_future_usage(params),
            capture_method=capture_method,
            automatic_payment_methods=automatic_payment_methods(params),
            allowed_payment_method_types=card_only(params, "allowed_payment_method_types"),
        )
        return request, confirm

    def _payment_confirmable(self, intent: JSON) -> JSON:
        """The PaymentMethod a confirmation would use; 400 when one cannot start."""
        if intent["status"] not in _OPEN:
            raise _unexpected_state("confirm", intent, _OPEN)
        if intent["payment_method"] is None:
            raise invalid_request(
                "You cannot confirm this PaymentIntent because it's missing a payment method."
                " You can either update the PaymentIntent with a payment method and then"
                " confirm it again, or confirm it again directly with a payment method.",
                code="payment_intent_unexpected_state",
            )
        automatic = intent["automatic_payment_methods"] or {}
        if (
            automatic.get("enabled")
            and automatic.get("allow_redirects") != "never"
            and intent["id"] not in self._return_urls
        ):
            raise invalid_request(
                "This PaymentIntent is configured to accept payment methods enabled in your"
                " Dashboard, because `automatic_payment_methods` is enabled. Some of these"
                " payment methods require a `return_url` to be set when confirming the"
                " PaymentIntent. Please provide a `return_url`, or set"
                " `automatic_payment_methods[allow_redirects]` to `never`.",
                param="return_url",
            )
        return self._owned_payment_method(intent["payment_method"], intent["customer"])

    def _confirm_payment(
        self, intent: JSON, *, off_session: bool, events: Mapping[str, str | None]
    ) -> None:
        """Confirm with the PaymentIntent's PaymentMethod: pay, decline (ApiError 402, saved
        for idempotent replay), or wait for 3D Secure.

        Off session a card that asks for 3D Secure cannot be authenticated: declined
        `authentication_required`, unless it is 4000002500003155 set up earlier (saved to the
        customer through a SetupIntent), which Stripe then charges without authentication.
        """
        payment_method = self._payment_confirmable(intent)
        intent.update(last_payment_error=None, next_action=None)
        outcome = self._charge_outcomes.get(payment_method["id"])
        if outcome == AUTHENTICATE_UNLESS_SET_UP:
            set_up = payment_method["customer"] is not None
            outcome = None if off_session and set_up else AUTHENTICATE
        if outcome == AUTHENTICATE and off_session:
            outcome = AUTHENTICATION_REQUIRED
        if isinstance(outcome, Decline):
            self._decline_payment(intent, payment_method, outcome, events)
        if outcome == AUTHENTICATE:
            url = f"{self._base_urls.get(intent['id'], '')}/3ds/{intent['id']}"
            intent.update(
                status="requires_action",
                next_action=redirect_next_action(url, self._return_urls.get(intent["id"])),
            )
            self._emit("payment_intent.requires_action", intent, **events)
            return
        self._pay(intent, payment_method, authenticated=False, events=events)

    def _new_charge(
        self, intent: JSON, payment_method: JSON, decline: Decline | None, authenticated: bool
    ) -> JSON:
        charge_id = new_id("ch_", 24)
        base_url = self._base_urls.get(intent["id"], "")
        charge = charge_object(
            charge_id,
            intent,
            payment_method,
            created=int(self._clock()),
            receipt_url=None if decline else f"{base_url}/receipts/{charge_id}",
            decline=decline,
            authenticated=authenticated,
        )
        self._charges[charge_id] = charge
        intent["latest_charge"] = charge_id
        return charge

    def _pay(
        self,
        intent: JSON,
        payment_method: JSON,
        *,
        authenticated: bool,
        events: Mapping[str, str | None],
    ) -> None:
        """A Charge succeeds; `setup_future_usage` with a customer saves the card to it."""
        checks = payment_method["card"]["checks"]
        if checks["cvc_check"] == "unchecked":
            checks["cvc_check"] = "pass"
        charge = self._new_charge(intent, payment_method, None, authenticated)
        self._emit("charge.succeeded", charge, **_event_args(events))
        self._used(intent, payment_method, succeeded=True)
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            next_action=None,
            last_payment_error=None,
        )
        self._emit("payment_intent.succeeded", intent, **_event_args(events))
        self._payment_settled(intent)

    def _decline_payment(
        self,
        intent: JSON,
        payment_method: JSON,
        decline: Decline,
        events: Mapping[str, str | None],
    ) -> NoReturn:
        """A failed Charge; back to `requires_payment_method` with `last_payment_error`.
        The 402 carries the PaymentIntent, the PaymentMethod and the Charge's id, as
        Stripe's does."""
        if decline.code == "incorrect_cvc":
            payment_method["card"]["checks"]["cvc_check"] = "fail"
        charge = self._new_charge(intent, payment_method, decline, authenticated=False)
        self._emit("charge.failed", charge, **_event_args(events))
        error = card_error(decline.code, decline.message, decline.param, decline.decline_code)
        self._payment_failed(intent, payment_method, {**error.error, "charge": charge["id"]})
        self._emit("payment_intent.payment_failed", intent, **_event_args(events))
        self._payment_settled(intent)
        raise card_error(
            decline.code,
            decline.message,
            decline.param,
            decline.decline_code,
            objects={
                "charge": charge["id"],
                "payment_intent": copy.deepcopy(intent),
                "payment_method": copy.deepcopy(payment_method),
            },
        )

    def _fail_payment_authentication(self, intent: JSON, payment_method: JSON) -> None:
        code = "payment_intent_authentication_failure"
        error = invalid_request(PAYMENT_AUTHENTICATION_FAILED, code=code)
        self._payment_failed(intent, payment_method, error.error)
        self._emit("payment_intent.payment_failed", intent)
        self._payment_settled(intent)

    def _payment_failed(self, intent: JSON, payment_method: JSON, error: JSON) -> None:
        self._used(intent, payment_method, succeeded=False)
        last_error = {
            **error,
            "payment_method": copy.deepcopy(payment_method),
            "payment_method_type": "card",
        }
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            next_action=None,
            last_payment_error=last_error,
        )

    def _used(self, intent: JSON, payment_method: JSON, *, succeeded: bool) -> None:
        """An unattached card is single-use, unless a paid `setup_future_usage` saves it."""
        if payment_method["customer"] is not None:
            return
        if succeeded and intent["setup_future_usage"] and intent["customer"]:
            payment_method["customer"] = intent["customer"]
        else:
            self._consumed.add(payment_method["id"])

    def _payment_settled(self, intent: JSON) -> None:
        """A confirmation has ended, well or not; Checkout completes its session here."""

    def _payment_redirect_after(self, intent: JSON) -> str | None:
        return_url = self._return_urls.get(intent["id"])
        if return_url is None or intent["status"] in ("requires_action", "canceled"):
            return None
        status = "succeeded" if intent["status"] == "succeeded" else "failed"
        return with_query(
            return_url,
            {
                "payment_intent": intent["id"],
                "payment_intent_client_secret": intent["client_secret"],
                "redirect_status": status,
            },
        )


def _event_args(events: Mapping[str, str | None]) -> dict[str, str | None]:
    return {
        "request_id": events.get("request_id"),
        "idempotency_key": events.get("idempotency_key"),
    }


def _refuse_others(params: Mapping[str, str], taken: frozenset[str]) -> None:
    for key in params:
        name = key.partition("[")[0]
        if name not in taken:
            raise not_emulated(name)


def _return_url(params: Mapping[str, str]) -> str | None:
    """An http(s) URL, or an application URI scheme (`myapp://done`), which stripe-python's
    `PaymentIntentCreateParams.return_url` says Stripe takes too; `url_invalid` otherwise."""
    value = params.get("return_url")
    if value and re.match(r"[a-z][a-z0-9+.-]*://", value) and not value.startswith("http"):
        return value
    return url_param(params, "return_url")


def _off_session(params: Mapping[str, str]) -> bool:
    """`off_session`: a boolean, or `one_off` / `recurring` (both mean true)."""
    value = params.get("off_session") or "false"
    if value in ("one_off", "recurring"):
        return True
    return boolean({"off_session": value}, "off_session")


def _future_usage(params: Mapping[str, str]) -> str | None:
    value = params.get("setup_future_usage") or None
    if value is not None and value not in ("off_session", "on_session"):
        raise invalid_request(
            "Invalid setup_future_usage: must be one of off_session or on_session",
            param="setup_future_usage",
            code="parameter_invalid_string",
        )
    return value


def _email(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name) or None
    if value is not None and not _EMAIL.fullmatch(value):
        raise invalid_request(
            f"Invalid email address: {redact_pans(value)}", param=name, code="email_invalid"
        )
    return value


def _unexpected_state(verb: str, intent: JSON, allowed: tuple[str, ...]) -> ApiError:
    status = intent["status"]
    if verb == "confirm" and status == "succeeded":
        message = (
            "You cannot confirm this PaymentIntent because it has already succeeded after"
            " being previously confirmed."
        )
    else:
        message = (
            f"You cannot {verb} this PaymentIntent because it has a status of {status}. Only"
            f" a PaymentIntent with one of the following statuses may be {verb}ed:"
            f" {', '.join(allowed)}."
        )
    return invalid_request(message, code="payment_intent_unexpected_state")
