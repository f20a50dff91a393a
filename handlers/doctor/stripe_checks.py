"""Stripe: the key's mode and account, raw card data access, and the webhook signing secret."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Literal

import stripe

from bot.adapters.stripe_gateway import is_raw_card_data_refusal, stripe_client
from bot.settings import Settings
from handlers.doctor.report import Check, fail, mask, ok, warn

if TYPE_CHECKING:
    from stripe.params import PaymentMethodCreateParams

Mode = Literal["test", "live"]

TEST_CARD = "4242424242424242"
"""Stripe's own test Visa, only ever sent with a test-mode key."""
TIMEOUT_SECONDS = 10.0
RAW_CARD_DATA_URL = "https://support.stripe.com/questions/enabling-access-to-raw-card-data-apis"

_MODES: dict[str, Mode] = {
    "sk_test_": "test",
    "rk_test_": "test",
    "sk_live_": "live",
    "rk_live_": "live",
}
_KEY_FIX = "copy the secret key from the Stripe Dashboard (Developers → API keys)"
_WEBHOOK_FIX = (
    "in the Stripe Dashboard (Developers → Webhooks) add an endpoint at this deployment's "
    "/stripe/webhook for checkout.session.completed, checkout.session.expired, "
    "setup_intent.succeeded and setup_intent.setup_failed, and put its "
    "signing secret (whsec_…) in STRIPE_WEBHOOK_SECRET"
)


def check_stripe(settings: Settings, *, today: datetime.date | None = None) -> list[Check]:
    """The key and what it can do, then the webhook secret the chosen card entry needs."""
    return [*_key_checks(settings, today or datetime.date.today()), _webhook_secret(settings)]


def key_mode(key: str) -> Mode | None:
    """`test` or `live` from the key's prefix; None for anything that is not a secret key."""
    return next((mode for prefix, mode in _MODES.items() if key.startswith(prefix)), None)


def _key_checks(settings: Settings, today: datetime.date) -> list[Check]:
    if settings.STRIPE_SECRET_KEY is None:
        return [fail("stripe key", "STRIPE_SECRET_KEY is not set", _KEY_FIX)]
    key = settings.STRIPE_SECRET_KEY.get_secret_value()
    mode = key_mode(key)
    if mode is None:
        detail = f"{mask(key)} is not a secret key (sk_test_, sk_live_, rk_test_ or rk_live_)"
        return [fail("stripe key", detail, _KEY_FIX)]
    checks = [ok("stripe key", f"{mask(key)} is a {mode}-mode key")]
    client = stripe_client(key, settings.STRIPE_API_BASE, timeout_seconds=TIMEOUT_SECONDS)
    account = _account(client, settings.STRIPE_API_BASE)
    checks.append(account)
    if account.status != "FAIL":
        checks.append(_raw_card_data(client, mode, settings, today))
    return checks


def _account(client: stripe.StripeClient, api_base: str) -> Check:
    try:
        account = client.v1.accounts.retrieve_current()
    except stripe.AuthenticationError:
        return fail("stripe account", "Stripe refused the key (authentication failed)", _KEY_FIX)
    except stripe.PermissionError:
        detail = "the restricted key may not read the account, so it was not checked"
        return warn("stripe account", detail, "allow the key to read Account, or use a secret key")
    except stripe.APIConnectionError:
        fix = "check STRIPE_API_BASE and this machine's network access to it"
        return fail("stripe account", f"cannot reach Stripe at {api_base}", fix)
    except stripe.StripeError as exc:
        fix = "check STRIPE_API_BASE (empty for Stripe's own) and STRIPE_SECRET_KEY"
        return fail("stripe account", f"Stripe answered {_kind(exc)}", fix)
    return ok("stripe account", f"the key answers for account {account.id}")


def _raw_card_data(
    client: stripe.StripeClient, mode: Mode, settings: Settings, today: datetime.date
) -> Check:
    name = "stripe raw card data"
    hosted = settings.CARD_ENTRY == "hosted"
    if mode == "live":
        if hosted:
            return ok(name, "not needed with CARD_ENTRY=hosted (not checked in live mode)")
        fix = f"make sure Stripe has enabled raw card data APIs ({RAW_CARD_DATA_URL})"
        return warn(name, "not checked in live mode: no card is sent to a live account", fix)
    try:
        client.v1.payment_methods.create(params=_test_card(today))
    except stripe.StripeError as exc:
        if not is_raw_card_data_refusal(exc):
            return warn(name, f"could not tell: Stripe answered {_kind(exc)}")
        if hosted:
            return ok(name, "not enabled; not needed with CARD_ENTRY=hosted")
        detail = "Stripe refused a raw card number: raw card data APIs are not enabled"
        fix = (
            f"ask Stripe to enable raw card data APIs ({RAW_CARD_DATA_URL}), or set "
            "CARD_ENTRY=hosted with STRIPE_WEBHOOK_SECRET"
        )
        return fail(name, detail, fix)
    return ok(name, "enabled (Stripe accepted its test card)")


def _test_card(today: datetime.date) -> PaymentMethodCreateParams:
    return {
        "type": "card",
        "card": {"number": TEST_CARD, "exp_month": 12, "exp_year": today.year + 2, "cvc": "123"},
    }


def _webhook_secret(settings: Settings) -> Check:
    name = "stripe webhook secret"
    secret = settings.STRIPE_WEBHOOK_SECRET
    if secret is None:
        if settings.CARD_ENTRY == "hosted":
            detail = "STRIPE_WEBHOOK_SECRET is not set, and CARD_ENTRY=hosted needs it"
            return fail(name, detail, _WEBHOOK_FIX)
        detail = (
            "STRIPE_WEBHOOK_SECRET is not set: 3-D Secure confirmations then rely on the "
            "return page only"
        )
        return warn(name, detail, _WEBHOOK_FIX)
    value = secret.get_secret_value()
    if not value.startswith("whsec_"):
        detail = f"STRIPE_WEBHOOK_SECRET ({mask(value)}) is not a signing secret (whsec_…)"
        return fail(name, detail, _WEBHOOK_FIX)
    return ok(name, f"{mask(value)} is set")


def _kind(exc: stripe.StripeError) -> str:
    """Error class and code: Stripe's messages can quote part of the key."""
    code = f" {exc.code}" if exc.code else ""
    return f"{type(exc).__name__}{code} (HTTP {exc.http_status})"
