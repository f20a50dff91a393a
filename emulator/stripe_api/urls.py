"""The route table (`create_app`) and the command line (`python -m emulator.stripe_api`)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Sequence

from aiohttp import web

from emulator.control import add_control_routes
from emulator.stripe_api import control, hosted_page, responses
from emulator.stripe_api.models import StripeEmulator
from emulator.stripe_api.responses import EMULATOR, stripe_envelope


def create_app(emulator: StripeEmulator) -> web.Application:
    """The Stripe test API over `emulator`.

    Pages for the cardholder: Checkout's card form, `GET|POST /pay/{session}`; the test
    bank's 3D Secure page, `GET|POST /3ds/{intent}` for a SetupIntent or a PaymentIntent
    (form field `outcome`: `complete` or `fail`; then a 303 to the intent's `return_url`,
    or to Checkout's `success_url` or page); and a paid Charge's receipt,
    `GET /receipts/{charge}` (its `receipt_url`).

    Control endpoints (no API key, not recorded in the request log):
    `POST /_emulator/faults` (JSON: status, delay, count, code, should_retry, as `inject`),
    `DELETE /_emulator/faults`, `GET /_emulator/requests` (`{"data": [...]}`),
    `POST /_emulator/reset`, `GET|POST /_emulator/settings` (any of `{"raw_card_data":
    bool, "webhook_url": str|null, "webhook_secret": str}`; GET shows all three),
    `POST /_emulator/checkout/{session}/complete` (JSON: number, exp_month, exp_year, cvc,
    name, authentication, as `complete_checkout`: saves the card, or pays in payment mode;
    answers the session, or Stripe's error with its status),
    `POST /_emulator/checkout/{session}/expire`,
    `POST /_emulator/setup_intents/{intent}/authenticate` and
    `POST /_emulator/payment_intents/{intent}/authenticate` (JSON `{"outcome": "complete" |
    "fail"}`; answers `{"setup_intent": {...}, "return_url": str|null}`, or
    `{"payment_intent": {...}, "return_url": ...}`, or Stripe's error),
    `GET /_emulator/events`, `POST /_emulator/events/{event}/redeliver`,
    `GET /_emulator/webhook_deliveries`.
    """
    app = web.Application(middlewares=[stripe_envelope])
    app[EMULATOR] = emulator
    routes: Iterable[web.RouteDef] = (
        web.post("/v1/payment_methods", responses.create_payment_method),
        web.get("/v1/payment_methods/{payment_method}", responses.retrieve_payment_method),
        web.post("/v1/customers", responses.create_customer),
        web.get("/v1/customers/search", responses.search_customers),
        web.get("/v1/customers/{customer}", responses.retrieve_customer),
        web.get(
            "/v1/customers/{customer}/payment_methods", responses.list_customer_payment_methods
        ),
        web.post("/v1/checkout/sessions", responses.create_checkout_session),
        web.get("/v1/checkout/sessions/{session}", responses.retrieve_checkout_session),
        web.post("/v1/checkout/sessions/{session}/expire", responses.expire_checkout_session),
        web.post("/v1/setup_intents", responses.create_setup_intent),
        web.get("/v1/setup_intents/{intent}", responses.retrieve_setup_intent),
        web.post("/v1/setup_intents/{intent}/confirm", responses.confirm_setup_intent),
        web.post("/v1/setup_intents/{intent}/cancel", responses.cancel_setup_intent),
        web.get("/v1/account", responses.retrieve_account),
        web.post("/v1/payment_intents", responses.create_payment_intent),
        web.get("/v1/payment_intents/search", responses.search_payment_intents),
        web.get("/v1/payment_intents/{intent}", responses.retrieve_payment_intent),
        web.post("/v1/payment_intents/{intent}/confirm", responses.confirm_payment_intent),
        web.post("/v1/payment_intents/{intent}/cancel", responses.cancel_payment_intent),
        web.post("/v1/refunds", responses.create_refund),
        web.get("/v1/refunds/{refund}", responses.retrieve_refund),
        web.get("/v1/charges/{charge}", responses.retrieve_charge),
        web.route("*", "/v1/{tail:.*}", responses.unrecognized),
        web.get("/pay/{session}", hosted_page.checkout_page),
        web.post("/pay/{session}", hosted_page.submit_checkout_page),
        web.get("/3ds/{intent}", hosted_page.authentication_page),
        web.post("/3ds/{intent}", hosted_page.submit_authentication_page),
        web.get("/receipts/{charge}", hosted_page.receipt_page),
        web.post("/_emulator/faults", control.control_inject),
        web.delete("/_emulator/faults", control.control_clear_faults),
        web.get("/_emulator/settings", control.control_settings),
        web.post("/_emulator/settings", control.control_settings),
        web.post("/_emulator/checkout/{session}/complete", control.control_complete_checkout),
        web.post("/_emulator/checkout/{session}/expire", control.control_expire_checkout),
        web.post("/_emulator/setup_intents/{intent}/authenticate", control.control_authenticate),
        web.post("/_emulator/payment_intents/{intent}/authenticate", control.control_authenticate),
        web.get("/_emulator/events", control.control_events),
        web.post("/_emulator/events/{event}/redeliver", control.control_redeliver),
        web.get("/_emulator/webhook_deliveries", control.control_webhook_deliveries),
    )
    app.add_routes(routes)
    add_control_routes(
        app,
        requests=lambda: {"data": [entry.to_json() for entry in emulator.requests]},
        reset=emulator.reset,
        reset_answer={"reset": True},
    )
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m emulator.stripe_api --port 12111 [--webhook-url URL] [--webhook-secret S]`."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator.stripe_api", description=sys.modules[__package__ or ""].__doc__
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--port", type=int, default=12111, help="port on 127.0.0.1 (default 12111)")
    parser.add_argument(
        "--raw-card-data-disabled",
        action="store_true",
        help="answer card numbers as an account without raw card data APIs does",
    )
    parser.add_argument(
        "--api-key", help="accept only this sk_test_ key (default: any sk_test_ key)"
    )
    parser.add_argument(
        "--webhook-url", help="POST events here (http(s) on a loopback address; default: none)"
    )
    parser.add_argument(
        "--webhook-secret", help="sign events with this whsec_ secret (default: a fresh one)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        emulator = StripeEmulator(
            raw_card_data=not args.raw_card_data_disabled,
            api_key=args.api_key,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(f"Stripe test API on http://127.0.0.1:{args.port}", flush=True)
    if emulator.webhook_url is not None:
        print(f"Webhooks to {emulator.webhook_url}", flush=True)
    print(f"Webhook signing secret: {emulator.webhook_secret}", flush=True)
    web.run_app(create_app(emulator), host="127.0.0.1", port=args.port, access_log=None, print=None)
