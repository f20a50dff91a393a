"""A Stripe-compatible test API: cards, SetupIntents, PaymentIntents and their Charges,
Refunds, Checkout in setup and payment modes, webhooks.

The real `stripe` SDK talks to it unchanged::

    client = stripe.StripeClient("sk_test_anything", base_addresses={"api": url})

Emulated: `POST /v1/payment_methods` (`type=card`, form-encoded with Stripe's bracket
notation) and `GET /v1/payment_methods/{id}`; `POST /v1/customers`, `GET /v1/customers/{id}`
and `GET /v1/customers/search` (Stripe's query language: `email`, `name`, `phone`,
`metadata['key']`, `:` and `~`, AND or OR); `POST /v1/setup_intents`,
`GET /v1/setup_intents/{id}`, `POST /v1/setup_intents/{id}/confirm` and `.../cancel`;
`POST /v1/payment_intents` (integer `amount` in minor units within Stripe's minimum and
maximum per currency, `currency` in any case, `customer`, `payment_method`, `confirm`,
`off_session`, `return_url`, `receipt_email`, `description`, `metadata`,
`setup_future_usage`, `automatic_payment_methods` or `allowed_payment_method_types`),
`GET /v1/payment_intents/{id}`, `POST /v1/payment_intents/{id}/confirm` and `.../cancel`,
`GET /v1/payment_intents/search` (`metadata['key']`, `status`, `currency`, `customer`);
`GET /v1/charges/{id}`; `POST /v1/refunds` (`payment_intent` or `charge`, `amount`,
`reason`, `metadata`) and `GET /v1/refunds/{id}`; `POST /v1/checkout/sessions`
(`mode=setup`, or `mode=payment` with `line_items[i][price_data]` and `quantity` and
`payment_intent_data`), `GET /v1/checkout/sessions/{id}` and
`POST /v1/checkout/sessions/{id}/expire`; `GET /v1/account`; `expand[]`; Bearer (or Basic)
authentication with any `sk_test_` key, or one exact key; Stripe's error envelope and HTTP
statuses; a `Request-Id` header on every response; `Idempotency-Key` replay on every POST;
the "raw card data APIs" gate (`StripeEmulator(raw_card_data=False)`); injected faults.
Parameters that stripe-python types for an endpoint but this API does not act on are
refused by name ("... is not emulated by this test API."), never ignored. The control
endpoints are listed on `create_app`.

Every request is checked against stripe-python's typed params (`stripe.params`) for the API
version its `Stripe-Version` names, with the changelog's removals for older versions
(`params.PARAM_CHANGES`); an unknown parameter is refused as Stripe refuses it:
400 `parameter_unknown`, "Received unknown parameter: card[expiry]" (`params.unknown_params`).

SetupIntents confirm a card as Stripe does: a good card succeeds and its PaymentMethod is
attached to the SetupIntent's customer; a declining test card is declined (402 with the
SetupIntent embedded, which goes back to `requires_payment_method` with
`last_setup_error`); a 3D Secure test card waits in `requires_action` with a
`redirect_to_url` to this server's own bank page, `GET /3ds/{id}`, when a `return_url` was
given (`use_stripe_sdk` otherwise). Completing or failing it there, or through
`POST /_emulator/setup_intents/{id}/authenticate`, settles the SetupIntent; the page then
redirects (303) to the `return_url` with `setup_intent`, `setup_intent_client_secret` and
`redirect_status` added.

PaymentIntents charge a card the same way: a good card succeeds with a captured Charge
(`ch_...`, the `latest_charge`) whose `receipt_url` is this server's page
`GET /receipts/{charge}`; a declined one leaves a failed Charge, answers 402 with the
PaymentIntent, PaymentMethod and Charge id embedded, and the PaymentIntent goes back to
`requires_payment_method` with `last_payment_error`; a 3D Secure card waits in
`requires_action` for the same bank page (or `POST /_emulator/payment_intents/{id}/
authenticate`), which then redirects to the `return_url` with `payment_intent`,
`payment_intent_client_secret` and `redirect_status`; an abandoned one waits until
canceled. Off session (`off_session=true`) nobody can authenticate: a card that asks for 3D
Secure is declined `authentication_required`, unless it was set up earlier and its test
card allows that. Refunds of a test card succeed at once and update the Charge's
`amount_refunded` and `refunded`.

Stripe-hosted card entry: a Checkout Session's `url` is this server's own page,
`GET /pay/{id}`, a card form that validates as `POST /v1/payment_methods` does (and works
whatever the raw card data gate says: that gate is for the API, not for Stripe's page). The
page confirms the session's SetupIntent with the card (setup mode) or charges it through
the session's PaymentIntent, made at the first card (payment mode): a decline shows on the
form, a 3D Secure card goes to the bank page first, and a card set up or paid completes the
session (`payment_status: paid` and `payment_intent` in payment mode) and redirects (303)
to `success_url`. Events (`setup_intent.created`, `.requires_action`, `.setup_failed`,
`.succeeded`, `.canceled`; `payment_intent.created`, `.requires_action`, `.payment_failed`,
`.succeeded`, `.canceled`; `charge.succeeded`, `.failed`, `.refunded` (the Charge);
`refund.created`; `checkout.session.completed`, `.expired`, an expiry noticed on the next
look once `expires_at` passes, which cancels an unpaid session's PaymentIntent) are POSTed
to the webhook endpoint signed as Stripe signs them (see `webhooks`), after the answer that
caused them has been sent.

Test cards. Real Stripe accepts every number below when a PaymentMethod is created; a
SetupIntent's confirmation (saving the card) or a PaymentIntent's (a charge) is where it
declines or asks for authentication:

    number            when saved        when charged       code / decline_code
    4000000000000002  declined (402)    declined (402)     card_declined / generic_decline
    4000000000009995  declined (402)    declined (402)     card_declined / insufficient_funds
    4000000000000127  declined (402)    declined (402)     incorrect_cvc / - (param cvc)
    4000000000000069  declined (402)    declined (402)     expired_card / - (param exp_month)
    4000000000000341  saved             declined (402)     card_declined / generic_decline
    4000002500003155  requires_action   on session: requires_action; off session: paid once
                                        set up, else declined (402) authentication_required /
                                        authentication_required
    4000002760003184  requires_action   on session: requires_action; off session: declined
                                        (402) authentication_required
    4000000000003220  requires_action   as 4000002760003184 (3D Secure 2)

Every other Luhn-valid number of a known brand and length is accepted, sets up and is
paid, for example 4242424242424242 (visa), 5555555555554444 and 2223003122003222
(mastercard), 378282246310005 (amex), 6011111111111117 (discover), 3056930009020004
(diners), 3566002020360505 (jcb), 6200000000000005 (unionpay). A malformed number, expiry
or CVC is refused at PaymentMethod creation (402 `incorrect_number`,
`invalid_expiry_month`, `invalid_expiry_year`, `invalid_cvc`, naming `card[...]`).

Card data: a full number and a CVC live only in the memory of the request that carries
them. The request log keeps the number masked to its last four digits and drops the CVC;
idempotency records keep a keyed digest of the parameters, never the parameters; what a
test card does when saved and when charged is noted beside its PaymentMethod, never the
number; stored objects and the log have any other Luhn-valid 13-19 digit run masked too;
Python logging gets method, path, status and timing only.
"""

from __future__ import annotations

from emulator.stripe_api.cards import (
    AMEX,
    AUTHENTICATE,
    AUTHENTICATE_UNLESS_SET_UP,
    AUTHENTICATION_REQUIRED,
    DECLINING_AT_CHARGE,
    DECLINING_TEST_CARDS,
    DINERS,
    DISCOVER,
    JCB,
    MASTERCARD,
    THREE_D_SECURE_CARDS,
    UNIONPAY,
    VISA,
    Brand,
    CardEntry,
    Decline,
    card_brand,
    charge_outcome,
    confirm_outcome,
    luhn_valid,
    mask_pan,
    redact_pans,
)
from emulator.stripe_api.checkout import CREATE_CHECKOUT_SESSION
from emulator.stripe_api.currencies import (
    MAXIMUM_CHARGE,
    MINIMUM_CHARGE,
    ZERO_DECIMAL,
    checked_amount,
    checked_currency,
    format_amount,
)
from emulator.stripe_api.exceptions import (
    JSON,
    NO_KEY_MESSAGE,
    RATE_LIMIT_MESSAGE,
    RAW_CARD_DATA_MESSAGE,
    Answer,
    ApiError,
    card_error,
    invalid_request,
)
from emulator.stripe_api.hosted_page import (
    PageError,
    page_error,
    read_card_form,
    render_form,
    render_notice,
    render_receipt,
)
from emulator.stripe_api.models import (
    CREATE_CUSTOMER,
    CREATE_PAYMENT_METHOD,
    StripeEmulator,
    mask_api_key,
)
from emulator.stripe_api.objects import (
    SESSION_EXPIRES_MAX,
    SESSION_EXPIRES_MIN,
    SessionRequest,
    account_object,
    checkout_session_object,
    complete_session,
    customer_object,
    event_object,
    expire_session,
    new_id,
    payment_method_object,
    redirect_next_action,
    setup_intent_object,
    success_redirect,
)
from emulator.stripe_api.params import (
    ENDPOINT_PARAMS,
    PARAM_CHANGES,
    PINNED_API_VERSION,
    ParamChange,
    api_version,
    check_params,
    expand_paths,
    sequence_param,
    unknown_params,
)
from emulator.stripe_api.payment_intents import (
    CREATE_PAYMENT_INTENT,
    PAYMENT_AUTHENTICATION_FAILED,
)
from emulator.stripe_api.payment_objects import (
    IntentRequest,
    charge_object,
    payment_intent_object,
    refund_object,
)
from emulator.stripe_api.recorder import Fault, RecordedRequest
from emulator.stripe_api.refunds import CREATE_REFUND
from emulator.stripe_api.responses import EMULATOR, logger
from emulator.stripe_api.search import SearchQueryError, parse_search_query, search_page
from emulator.stripe_api.setup_intents import (
    AUTHENTICATION_FAILED,
    CREATE_SETUP_INTENT,
    with_query,
)
from emulator.stripe_api.urls import create_app, main
from emulator.stripe_api.webhooks import (
    WebhookDelivery,
    WebhookJob,
    WebhookSender,
    checked_webhook_url,
    new_webhook_secret,
)

__all__ = [
    "AMEX",
    "AUTHENTICATE",
    "AUTHENTICATE_UNLESS_SET_UP",
    "AUTHENTICATION_FAILED",
    "AUTHENTICATION_REQUIRED",
    "CREATE_CHECKOUT_SESSION",
    "CREATE_CUSTOMER",
    "CREATE_PAYMENT_INTENT",
    "CREATE_PAYMENT_METHOD",
    "CREATE_REFUND",
    "CREATE_SETUP_INTENT",
    "DECLINING_AT_CHARGE",
    "DECLINING_TEST_CARDS",
    "DINERS",
    "DISCOVER",
    "EMULATOR",
    "ENDPOINT_PARAMS",
    "JCB",
    "JSON",
    "MASTERCARD",
    "MAXIMUM_CHARGE",
    "MINIMUM_CHARGE",
    "NO_KEY_MESSAGE",
    "PARAM_CHANGES",
    "PAYMENT_AUTHENTICATION_FAILED",
    "PINNED_API_VERSION",
    "RATE_LIMIT_MESSAGE",
    "RAW_CARD_DATA_MESSAGE",
    "SESSION_EXPIRES_MAX",
    "SESSION_EXPIRES_MIN",
    "THREE_D_SECURE_CARDS",
    "UNIONPAY",
    "VISA",
    "ZERO_DECIMAL",
    "Answer",
    "ApiError",
    "Brand",
    "CardEntry",
    "Decline",
    "Fault",
    "IntentRequest",
    "PageError",
    "ParamChange",
    "RecordedRequest",
    "SearchQueryError",
    "SessionRequest",
    "StripeEmulator",
    "WebhookDelivery",
    "WebhookJob",
    "WebhookSender",
    "account_object",
    "api_version",
    "card_brand",
    "card_error",
    "charge_object",
    "charge_outcome",
    "check_params",
    "checked_amount",
    "checked_currency",
    "checked_webhook_url",
    "checkout_session_object",
    "complete_session",
    "confirm_outcome",
    "create_app",
    "customer_object",
    "event_object",
    "expand_paths",
    "expire_session",
    "format_amount",
    "invalid_request",
    "logger",
    "luhn_valid",
    "main",
    "mask_api_key",
    "mask_pan",
    "new_id",
    "new_webhook_secret",
    "page_error",
    "parse_search_query",
    "payment_intent_object",
    "payment_method_object",
    "read_card_form",
    "redact_pans",
    "redirect_next_action",
    "refund_object",
    "render_form",
    "render_notice",
    "render_receipt",
    "search_page",
    "sequence_param",
    "setup_intent_object",
    "success_redirect",
    "unknown_params",
    "with_query",
]
