"""The pages a cardholder sees: Checkout's hosted card form at `/pay/{session}`, the test
bank's 3D Secure page at `/3ds/{intent}`, and a paid Charge's receipt at
`/receipts/{charge}`.

Plain HTML from `static/`, no script and no external asset; the card typed in lives only
in the request that posts it.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from emulator.stripe_api.cards import CardEntry
from emulator.stripe_api.currencies import format_amount
from emulator.stripe_api.exceptions import JSON, ApiError
from emulator.stripe_api.models import StripeEmulator
from emulator.stripe_api.objects import success_redirect
from emulator.stripe_api.responses import EMULATOR

STATIC: Final = Path(__file__).with_name("static")


class PageError(Exception):
    """What the page says above the form; `field` is the input it concerns, if one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # "number", "expiry", "cvc", "name"


_EXPIRY = re.compile(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*")
_FIELD_OF_PARAM: Final = {
    "card[number]": "number",
    "card[exp_month]": "expiry",
    "card[exp_year]": "expiry",
    "card[cvc]": "cvc",
    "exp_month": "expiry",  # a confirmation's decline names the bare field
    "exp_year": "expiry",
    "cvc": "cvc",
}


def read_card_form(form: Mapping[str, str]) -> CardEntry:
    """The page's fields, complete and in shape, or PageError for the first that is not."""
    name = form.get("name", "").strip()
    number = re.sub(r"[\s-]", "", form.get("number", ""))
    expiry = _EXPIRY.fullmatch(form.get("expiry", ""))
    cvc = form.get("cvc", "").strip()
    if not number:
        raise PageError("Your card number is incomplete.", "number")
    if expiry is None:
        raise PageError("Your card's expiration date is incomplete.", "expiry")
    if not cvc:
        raise PageError("Your card's security code is incomplete.", "cvc")
    if not name:
        raise PageError("Enter the name on the card.", "name")
    return CardEntry(number, expiry.group(1), expiry.group(2), cvc, name)


def page_error(error: Mapping[str, Any]) -> PageError:
    """The page's words for a Stripe card error (the API's `error` object)."""
    param = error.get("param")
    field = _FIELD_OF_PARAM.get(param) if isinstance(param, str) else None
    return PageError(str(error.get("message") or "Your card was declined."), field)


def _template(name: str) -> string.Template:
    return string.Template((STATIC / name).read_text(encoding="utf-8"))


def render_form(
    session: Mapping[str, Any],
    *,
    business_name: str,
    customer_email: str | None,
    error: PageError | None = None,
    name: str = "",
) -> str:
    """The card form for an open session; after an error, only the name is filled back in."""
    invalid = ' aria-invalid="true" aria-describedby="checkout-error"'
    marks = {
        f"{field}_invalid": invalid if error is not None and error.field == field else ""
        for field in ("number", "expiry", "cvc", "name")
    }
    alert = (
        f'<p class="error" id="checkout-error" role="alert" data-testid="checkout-error">'
        f"{html.escape(error.message)}</p>"
        if error is not None
        else ""
    )
    if session.get("mode") == "payment":
        amount = _money(int(session["amount_total"]), str(session["currency"]))
        title, submit = f"Pay {amount}", f"Pay {amount}"
        lead = f"Your card is charged {amount} now."
    else:
        title, submit = "Save your card", "Save card"
        lead = "Your card will be saved for future payments. Nothing is charged now."
    form = _template("checkout_form.html").substitute(
        action=html.escape(f"/pay/{session['id']}"),
        lead=html.escape(lead),
        submit=html.escape(submit),
        error=alert,
        name=html.escape(name),
        cancel=_link(session.get("cancel_url"), "Cancel", "checkout-cancel"),
        **marks,
    )
    return _page(business_name, customer_email, title, form)


def render_notice(
    session: Mapping[str, Any] | None, *, business_name: str, customer_email: str | None
) -> str:
    """The page for a session that is not open (or does not exist)."""
    status = None if session is None else session.get("status")
    if status == "complete" and session and session.get("mode") == "payment":
        title, text = "Payment complete", "Your payment has been received. You can close this page."
        link = _link(session.get("success_url"), "Return", "checkout-return")
    elif status == "complete":
        title, text = "Card saved", "Your card has been saved. You can close this page."
        link = _link(session.get("success_url") if session else None, "Return", "checkout-return")
    elif status == "expired":
        title, text = "Session expired", "This checkout session has expired."
        link = _link(session.get("cancel_url") if session else None, "Return", "checkout-return")
    else:
        title, text, link = "Not found", "This checkout page does not exist.", ""
    notice = _template("checkout_notice.html").substitute(
        text=html.escape(text), link=link, status=html.escape(str(status or "missing"))
    )
    return _page(business_name, customer_email, title, notice)


def _link(url: Any, label: str, testid: str) -> str:
    if not isinstance(url, str) or not url:
        return ""
    return f'<a class="link" href="{html.escape(url)}" data-testid="{testid}">{label}</a>'


def _page(business_name: str, customer_email: str | None, title: str, content: str) -> str:
    who = f"for {html.escape(customer_email)}" if customer_email else ""
    return _template("checkout_page.html").substitute(
        title=html.escape(title),
        business=html.escape(business_name),
        customer=who,
        content=content,
        css=(STATIC / "checkout.css").read_text(encoding="utf-8"),
    )


_PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/html", headers=_PAGE_HEADERS)


def _notice(emulator: StripeEmulator, session: JSON | None, email: str | None) -> web.Response:
    text = render_notice(session, business_name=emulator.business_name, customer_email=email)
    return _html(text, 404 if session is None else 200)


async def checkout_page(request: web.Request) -> web.Response:
    """`GET /pay/{session}`: the card form, with what the last failed attempt said."""
    emulator = request.app[EMULATOR]
    session, email, failed = emulator.page_view(request.match_info["session"])
    if session is None or session["status"] != "open":
        return _notice(emulator, session, email)
    error = None if failed is None else PageError(failed)
    page = render_form(
        session, business_name=emulator.business_name, customer_email=email, error=error
    )
    return _html(page)


async def submit_checkout_page(request: web.Request) -> web.Response:
    """The form's POST: a card error re-renders the form; a card that asks for 3D Secure
    goes to the bank's page (303), a saved card to `success_url` (303)."""
    emulator = request.app[EMULATOR]
    session_id = request.match_info["session"]
    form = {key: value for key, value in (await request.post()).items() if isinstance(value, str)}
    try:
        session, intent = emulator.complete_from_page(session_id, read_card_form(form))
    except (PageError, ApiError) as failure:
        found, email, _ = emulator.page_view(session_id)
        if found is None or found["status"] != "open":
            return _notice(emulator, found, email)
        error = failure if isinstance(failure, PageError) else page_error(failure.error)
        page = render_form(
            found,
            business_name=emulator.business_name,
            customer_email=email,
            error=error,
            name=form.get("name", ""),
        )
        return _html(page)
    if intent["status"] == "requires_action":
        return _redirect(f"/3ds/{intent['id']}")
    completed = emulator.checkout_session(session_id) or session
    return _redirect(success_redirect(completed))


# ---------------------------------------------------------------- the bank's 3D Secure page


def render_authentication(intent: Mapping[str, Any], *, business_name: str) -> str:
    """The test bank's page: Complete or Fail the authentication an intent waits for."""
    if intent["object"] == "payment_intent":
        purpose = f"you pay {_money(int(intent['amount']), str(intent['currency']))}"
    else:
        purpose = "this card is saved"
    content = _template("authenticate.html").substitute(
        action=html.escape(f"/3ds/{intent['id']}"), purpose=html.escape(purpose)
    )
    return _page(business_name, None, "Authenticate your card", content)


def _authentication_notice(
    business_name: str, text: str, status: str, title: str = "Card authentication"
) -> str:
    notice = _template("checkout_notice.html").substitute(
        text=html.escape(text), link="", status=html.escape(status)
    )
    return _page(business_name, None, title, notice)


async def authentication_page(request: web.Request) -> web.Response:
    """`GET /3ds/{intent}`: where `next_action` sends a cardholder whose card asks for 3DS."""
    emulator = request.app[EMULATOR]
    intent = emulator.authentication_intent(request.match_info["intent"])
    if intent is None:
        text = "This authentication page does not exist."
        return _html(_authentication_notice(emulator.business_name, text, "missing"), 404)
    if intent["status"] != "requires_action":
        text = "This authentication is no longer pending. You can close this page."
        return _html(_authentication_notice(emulator.business_name, text, intent["status"]))
    return _html(render_authentication(intent, business_name=emulator.business_name))


async def submit_authentication_page(request: web.Request) -> web.Response:
    """The page's POST (`outcome=complete|fail`): back to `return_url` with the result
    (303), or a notice when the intent was confirmed without one."""
    emulator = request.app[EMULATOR]
    intent_id = request.match_info["intent"]
    form = await request.post()
    outcome = form.get("outcome")
    if outcome not in ("complete", "fail"):
        text = "Choose Complete or Fail authentication."
        return _html(_authentication_notice(emulator.business_name, text, "invalid"), 400)
    try:
        intent = emulator.authenticate_intent(intent_id, str(outcome))
    except ApiError as error:
        text = str(error.error.get("message") or "This authentication is not pending.")
        page = _authentication_notice(emulator.business_name, text, "invalid")
        return _html(page, error.status)
    target = emulator.authentication_redirect(intent_id)
    if target is not None:
        return _redirect(target)
    done = "completed" if intent["status"] == "succeeded" else "failed"
    text = f"Authentication {done}. You can close this page."
    return _html(_authentication_notice(emulator.business_name, text, intent["status"]))


# ---------------------------------------------------------------- a paid Charge's receipt


def _money(amount: int, currency: str) -> str:
    return f"{format_amount(amount, currency, grouped=True)} {currency.upper()}"


def render_receipt(charge: Mapping[str, Any], *, business_name: str) -> str:
    """A small receipt: amount, what was refunded, description, card, date (UTC)."""
    card = charge["payment_method_details"]["card"]
    currency = str(charge["currency"])
    refunded = int(charge["amount_refunded"])
    status = "refunded" if charge["refunded"] else "partially_refunded" if refunded else "paid"
    lead = {
        "paid": "Thank you for your payment.",
        "partially_refunded": "This payment has been partly refunded.",
        "refunded": "This payment has been refunded.",
    }[status]
    content = _template("receipt.html").substitute(
        status=status,
        lead=html.escape(lead),
        amount=html.escape(_money(int(charge["amount"]), currency)),
        refunded=html.escape(_money(refunded, currency)),
        description=html.escape(str(charge["description"] or "")),
        card=html.escape(f"{str(card['brand']).title()} •••• {card['last4']}"),
        date=datetime.fromtimestamp(int(charge["created"]), UTC).strftime("%Y-%m-%d %H:%M UTC"),
        charge=html.escape(str(charge["id"])),
    )
    return _page(business_name, charge["receipt_email"], f"Receipt from {business_name}", content)


async def receipt_page(request: web.Request) -> web.Response:
    """`GET /receipts/{charge}`: a paid Charge's `receipt_url`; 404 for any other id."""
    emulator = request.app[EMULATOR]
    charge = emulator.charge(request.match_info["charge"])
    if charge is None or charge["status"] != "succeeded":
        text = "This receipt does not exist."
        page = _authentication_notice(emulator.business_name, text, "missing", "Receipt")
        return _html(page, 404)
    return _html(render_receipt(charge, business_name=emulator.business_name))


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **_PAGE_HEADERS})
