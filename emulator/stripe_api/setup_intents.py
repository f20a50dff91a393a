"""SetupIntents: a card saved for later use, declined or sent to 3D Secure at confirmation
as Stripe's test cards are."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Final, NoReturn
from urllib.parse import urlencode, urlsplit, urlunsplit

from emulator.stripe_api.cards import AUTHENTICATE, Decline
from emulator.stripe_api.exceptions import (
    JSON,
    Answer,
    ApiError,
    card_error,
    invalid_request,
)
from emulator.stripe_api.objects import new_id, redirect_next_action, setup_intent_object
from emulator.stripe_api.params import (
    automatic_payment_methods,
    boolean,
    card_only,
    expand_paths,
    metadata,
    not_emulated,
    refuse_not_emulated,
    text,
    url_param,
)
from emulator.stripe_api.store import Store, no_such

CREATE_SETUP_INTENT: Final = "POST /v1/setup_intents"
AUTHENTICATION_FAILED: Final = (
    "The latest attempt to set up the payment method has failed because authentication failed."
)
"""The `last_setup_error` message after failed 3D Secure (wording assumed; the code,
`setup_intent_authentication_failure`, is in stripe-python's list of error codes)."""

_OPEN: Final = ("requires_payment_method", "requires_confirmation", "requires_action")
_USAGES: Final = frozenset({"on_session", "off_session"})
_CANCELLATION_REASONS: Final = frozenset({"abandoned", "duplicate", "requested_by_customer"})
# Parameters stripe-python types for SetupIntents that this API does not act on: refused by
# name rather than ignored, so that a test never believes in an effect it did not get.
_NOT_EMULATED: Final = (
    "attach_to_self",
    "confirmation_token",
    "customer_account",
    "flow_directions",
    "mandate_data",
    "on_behalf_of",
    "payment_method_configuration",
    "payment_method_data",
    "single_use",
)
_NOT_EMULATED_ON_CONFIRM: Final = (
    "confirmation_token",
    "mandate_data",
    "payment_method_data",
    "payment_method_options",
)
_THREE_D_SECURE_OPTION: Final = "payment_method_options[card][request_three_d_secure]"


class SetupIntentModel(Store):
    """SetupIntents on top of the account's state."""

    def setup_intent(self, intent_id: str) -> JSON | None:
        """A copy of one SetupIntent, or None."""
        with self._lock:
            return copy.deepcopy(self._setup_intents.get(intent_id))

    def authenticate_setup_intent(self, intent_id: str, outcome: str) -> JSON:
        """Finish the 3D Secure step of a SetupIntent in `requires_action`, as the cardholder
        does on the bank's page: `complete` (it succeeds) or `fail`; the SetupIntent after.

        Raises ValueError for another outcome, ApiError 404 for an unknown SetupIntent and
        400 `setup_intent_unexpected_state` for one not waiting for authentication.
        """
        if outcome not in ("complete", "fail"):
            raise ValueError("outcome must be 'complete' or 'fail'")
        with self._lock:
            intent = self._intent(intent_id, status=404)
            if intent["status"] != "requires_action":
                raise invalid_request(
                    "This SetupIntent is not waiting for authentication: its status is"
                    f" `{intent['status']}`.",
                    code="setup_intent_unexpected_state",
                )
            if outcome == "complete":
                self._succeed(intent)
            else:
                self._fail_authentication(intent)
            return copy.deepcopy(intent)

    def authentication_redirect(self, intent_id: str) -> str | None:
        """Where the cardholder goes once 3D Secure is over: the `return_url` with
        `setup_intent`, `setup_intent_client_secret` and `redirect_status` added, as Stripe
        adds them; None when there is none to go to."""
        with self._lock:
            intent = self._setup_intents.get(intent_id)
            if intent is None:
                return None
            return self._redirect_after(intent)

    # -- the API

    def create_setup_intent(
        self,
        params: Mapping[str, str],
        *,
        base_url: str,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/setup_intents`, confirming at once when `confirm` is true."""
        return self._idempotent(
            CREATE_SETUP_INTENT,
            params,
            lambda: self._new_setup_intent(params, base_url, request_id, idempotency_key),
            api_key,
            idempotency_key,
            request_id,
        )

    def confirm_setup_intent(
        self,
        intent_id: str,
        params: Mapping[str, str],
        *,
        base_url: str,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/setup_intents/{id}/confirm`."""

        def confirm() -> JSON:
            refuse_not_emulated(params, _NOT_EMULATED_ON_CONFIRM)
            intent = self._intent(intent_id, status=404)
            if params.get("payment_method"):
                self._check_payment_method(params["payment_method"])
                if intent["status"] in _OPEN:
                    intent["payment_method"] = params["payment_method"]
            return_url = url_param(params, "return_url")
            if return_url is not None:
                self._return_urls[intent_id] = return_url
            self._base_urls[intent_id] = base_url
            self._confirm(intent, request_id=request_id, idempotency_key=idempotency_key)
            return self._expanded(copy.deepcopy(intent), expand_paths(params))

        endpoint = f"POST /v1/setup_intents/{intent_id}/confirm"
        return self._idempotent(endpoint, params, confirm, api_key, idempotency_key, request_id)

    def cancel_setup_intent(
        self,
        intent_id: str,
        params: Mapping[str, str],
        *,
        api_key: str,
        idempotency_key: str | None,
        request_id: str,
    ) -> Answer:
        """`POST /v1/setup_intents/{id}/cancel`: from any status but succeeded and canceled.

        "You can't cancel the SetupIntent for a Checkout Session" (stripe-python's
        docstring; the error's wording is ours).
        """

        def cancel() -> JSON:
            intent = self._intent(intent_id, status=404)
            if intent_id in self._checkout_intents:
                raise invalid_request(
                    "You cannot cancel a SetupIntent created by a Checkout Session. Expire the"
                    " Checkout Session instead."
                )
            if intent["status"] not in _OPEN:
                raise _unexpected_state("cancel", intent)
            reason = params.get("cancellation_reason") or None
            if reason is not None and reason not in _CANCELLATION_REASONS:
                choices = ", ".join(sorted(_CANCELLATION_REASONS))
                raise invalid_request(
                    f"Invalid cancellation_reason: must be one of {choices}",
                    param="cancellation_reason",
                    code="parameter_invalid_string",
                )
            intent.update(status="canceled", cancellation_reason=reason, next_action=None)
            self._emit_intent(
                "setup_intent.canceled",
                intent,
                request_id=request_id,
                idempotency_key=idempotency_key,
            )
            return self._expanded(copy.deepcopy(intent), expand_paths(params))

        endpoint = f"POST /v1/setup_intents/{intent_id}/cancel"
        return self._idempotent(endpoint, params, cancel, api_key, idempotency_key, request_id)

    def retrieve_setup_intent(self, intent_id: str, params: Mapping[str, str]) -> Answer:
        """`GET /v1/setup_intents/{id}` (a `client_secret` is accepted and not needed)."""
        return self._retrieve(
            self._setup_intents, "setupintent", "intent", intent_id, expand_paths(params)
        )

    # -- internals (called with the lock held)

    def _intent(self, intent_id: str, *, status: int) -> JSON:
        intent = self._setup_intents.get(intent_id)
        if intent is None:
            raise no_such("setupintent", intent_id, "intent", status=status)
        return intent

    def _check_payment_method(self, payment_method_id: str) -> JSON:
        """A stored PaymentMethod that may still be used; 400 otherwise."""
        payment_method = self._payment_methods.get(payment_method_id)
        if payment_method is None:
            raise no_such("PaymentMethod", payment_method_id, "payment_method", status=400)
        if payment_method_id in self._consumed and payment_method["customer"] is None:
            # Stripe's rule, in its words: a PaymentMethod used without being attached to a
            # Customer may not be used again.
            raise invalid_request(
                "The provided PaymentMethod was previously used with a PaymentIntent or"
                " SetupIntent without Customer attachment, shared with a connected account"
                " without Customer attachment, or was detached from a Customer. It may not be"
                " used again. To use a PaymentMethod multiple times, you must attach it to a"
                " Customer first.",
                param="payment_method",
            )
        return payment_method

    def _new_setup_intent(
        self,
        params: Mapping[str, str],
        base_url: str,
        request_id: str,
        idempotency_key: str | None,
    ) -> JSON:
        refuse_not_emulated(params, _NOT_EMULATED)
        for key in params:
            if key.startswith("payment_method_options") and key != _THREE_D_SECURE_OPTION:
                raise not_emulated("payment_method_options")
        customer = params.get("customer") or None
        if customer is not None and customer not in self._customers:
            raise no_such("customer", customer, "customer", status=400)
        payment_method = params.get("payment_method") or None
        if payment_method is not None:
            self._check_payment_method(payment_method)
        usage = params.get("usage", "off_session")
        if usage not in _USAGES:
            raise invalid_request(
                "Invalid usage: must be one of off_session or on_session",
                param="usage",
                code="parameter_invalid_string",
            )
        automatic = automatic_payment_methods(params)
        return_url = url_param(params, "return_url")
        intent = setup_intent_object(
            new_id("seti_", 24),
            created=int(self._clock()),
            customer=customer,
            payment_method=payment_method,
            metadata=metadata(params),
            status="requires_payment_method" if payment_method is None else "requires_confirmation",
            usage=usage,
            description=text(params, "description"),
            allowed_payment_method_types=card_only(params, "allowed_payment_method_types"),
            automatic_payment_methods=automatic,
        )
        if params.get(_THREE_D_SECURE_OPTION):  # kept; every card behaves as its test card
            card = intent["payment_method_options"]["card"]
            card["request_three_d_secure"] = params[_THREE_D_SECURE_OPTION]
        confirm = boolean(params, "confirm")
        if return_url is not None:
            self._return_urls[intent["id"]] = return_url
        if confirm:
            try:
                self._confirmable(intent)  # a request that cannot confirm creates nothing
            except ApiError:
                self._return_urls.pop(intent["id"], None)
                raise
        self._setup_intents[intent["id"]] = intent
        self._base_urls[intent["id"]] = base_url
        self._emit_intent(
            "setup_intent.created", intent, request_id=request_id, idempotency_key=idempotency_key
        )
        if confirm:
            self._confirm(intent, request_id=request_id, idempotency_key=idempotency_key)
        return self._expanded(copy.deepcopy(intent), expand_paths(params))

    def _confirm(
        self, intent: JSON, *, request_id: str | None = None, idempotency_key: str | None = None
    ) -> None:
        """Confirm with the SetupIntent's PaymentMethod: succeed, decline (ApiError 402,
        saved for idempotent replay), or wait for 3D Secure."""
        payment_method = self._confirmable(intent)
        events = {"request_id": request_id, "idempotency_key": idempotency_key}
        intent.update(latest_attempt=new_id("setatt_", 24), last_setup_error=None, next_action=None)
        outcome = self._outcomes.get(payment_method["id"])
        if isinstance(outcome, Decline):
            self._decline(intent, payment_method, outcome, events)
        if outcome == AUTHENTICATE:
            url = f"{self._base_urls.get(intent['id'], '')}/3ds/{intent['id']}"
            intent.update(
                status="requires_action",
                next_action=redirect_next_action(url, self._return_urls.get(intent["id"])),
            )
            self._emit_intent("setup_intent.requires_action", intent, **events)
            return
        self._succeed(intent, **events)

    def _confirmable(self, intent: JSON) -> JSON:
        """The PaymentMethod a confirmation would use; 400 when one cannot start."""
        if intent["status"] not in _OPEN:
            raise _unexpected_state("confirm", intent)
        if intent["payment_method"] is None:
            raise invalid_request(
                "You cannot confirm this SetupIntent because it's missing a payment method."
                " Update the SetupIntent with a payment method and then confirm it again.",
                code="setup_intent_unexpected_state",
            )
        automatic = intent["automatic_payment_methods"] or {}
        if (
            automatic.get("enabled")
            and automatic.get("allow_redirects") != "never"
            and intent["id"] not in self._return_urls
        ):
            # Stripe's wording for PaymentIntents, quoted by integrators, said of SetupIntents.
            raise invalid_request(
                "This SetupIntent is configured to accept payment methods enabled in your"
                " Dashboard, because `automatic_payment_methods` is enabled. Some of these"
                " payment methods require a `return_url` to be set when confirming the"
                " SetupIntent. Please provide a `return_url`, or set"
                " `automatic_payment_methods[allow_redirects]` to `never`.",
                param="return_url",
            )
        return self._check_payment_method(intent["payment_method"])

    def _succeed(
        self, intent: JSON, *, request_id: str | None = None, idempotency_key: str | None = None
    ) -> None:
        """The card is set up: attached to the SetupIntent's Customer, so it is reusable."""
        payment_method = self._payment_methods[intent["payment_method"]]
        if intent["customer"] is not None:
            payment_method["customer"] = intent["customer"]
        else:
            self._consumed.add(payment_method["id"])
        checks = payment_method["card"]["checks"]
        if checks["cvc_check"] == "unchecked":
            checks["cvc_check"] = "pass"
        intent.update(status="succeeded", next_action=None, last_setup_error=None)
        self._emit_intent(
            "setup_intent.succeeded",
            intent,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        self._settled(intent)

    def _decline(
        self,
        intent: JSON,
        payment_method: JSON,
        decline: Decline,
        events: Mapping[str, str | None],
    ) -> NoReturn:
        """Back to `requires_payment_method` with `last_setup_error`; the 402 carries the
        SetupIntent and the PaymentMethod, as Stripe's does."""
        if decline.code == "incorrect_cvc":
            payment_method["card"]["checks"]["cvc_check"] = "fail"
        error = card_error(decline.code, decline.message, decline.param, decline.decline_code)
        self._fail(intent, payment_method, error, events)
        raise card_error(
            decline.code,
            decline.message,
            decline.param,
            decline.decline_code,
            objects={
                "payment_method": copy.deepcopy(payment_method),
                "setup_intent": copy.deepcopy(intent),
            },
        )

    def _fail_authentication(self, intent: JSON) -> None:
        payment_method = self._payment_methods[intent["payment_method"]]
        code = "setup_intent_authentication_failure"
        error = invalid_request(AUTHENTICATION_FAILED, code=code)
        self._fail(intent, payment_method, error, {})

    def _fail(
        self,
        intent: JSON,
        payment_method: JSON,
        error: ApiError,
        events: Mapping[str, str | None],
    ) -> None:
        self._consumed.add(payment_method["id"])
        last_error = {**error.error, "payment_method": copy.deepcopy(payment_method)}
        intent.update(
            status="requires_payment_method",
            payment_method=None,
            next_action=None,
            last_setup_error=last_error,
        )
        self._emit_intent(
            "setup_intent.setup_failed",
            intent,
            request_id=events.get("request_id"),
            idempotency_key=events.get("idempotency_key"),
        )
        self._settled(intent)

    def _emit_intent(
        self,
        event_type: str,
        intent: JSON,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """A `setup_intent.*` Event, unless the SetupIntent is Checkout's and those are off.

        Real Stripe sends them for Checkout's SetupIntents too; `checkout_setup_intent_events`
        (on by default) can turn them off.
        """
        if intent["id"] in self._checkout_intents and not self._checkout_setup_intent_events:
            return
        self._emit(event_type, intent, request_id=request_id, idempotency_key=idempotency_key)

    def _settled(self, intent: JSON) -> None:
        """A confirmation has ended, well or not; Checkout completes its session here."""

    def _redirect_after(self, intent: JSON) -> str | None:
        return_url = self._return_urls.get(intent["id"])
        if return_url is None or intent["status"] in ("requires_action", "canceled"):
            return None
        status = "succeeded" if intent["status"] == "succeeded" else "failed"
        return with_query(
            return_url,
            {
                "setup_intent": intent["id"],
                "setup_intent_client_secret": intent["client_secret"],
                "redirect_status": status,
            },
        )


def with_query(url: str, added: Mapping[str, str]) -> str:
    """`url` with `added` appended to its query (after any it has), fragment kept."""
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(added)) if part)
    return urlunsplit(parts._replace(query=query))


def _unexpected_state(verb: str, intent: JSON) -> ApiError:
    status = intent["status"]
    if verb == "confirm" and status == "succeeded":
        message = (
            "You cannot confirm this SetupIntent because it has already succeeded after being"
            " previously confirmed."
        )
    else:
        message = (
            f"You cannot {verb} this SetupIntent because it has a status of {status}. Only a"
            f" SetupIntent with one of the following statuses may be {verb}ed:"
            f" {', '.join(_OPEN)}."
        )
    return invalid_request(message, code="setup_intent_unexpected_state")
