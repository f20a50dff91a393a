"""Stripe's answers and error envelope: `Answer`, `ApiError` and the errors the API raises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

JSON = dict[str, Any]

# Raw card data APIs not enabled: type invalid_request_error, no code, no param, and this
# test-mode message (live mode words it differently: "To continue processing use
# Stripe.js, the Stripe mobile bindings, or Stripe Elements. ..."). The HTTP status
# appeared in no report found; 400 is assumed. It matters: the SDK raises
# InvalidRequestError for 400/404 and CardError for any 402, whatever the type.
RAW_CARD_DATA_MESSAGE: Final = (
    "Sending credit card numbers directly to the Stripe API is generally unsafe. We suggest"
    " you use test tokens that map to the test card you are using, see"
    " https://stripe.com/docs/testing. To enable raw card data APIs in test mode, see"
    " https://support.stripe.com/questions/enabling-access-to-raw-card-data-apis."
)
NO_KEY_MESSAGE: Final = (
    "You did not provide an API key. You need to provide your API key in the Authorization"
    " header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See"
    " https://stripe.com/docs/api#authentication for details, or we can help at"
    " https://support.stripe.com/."
)
RATE_LIMIT_MESSAGE: Final = (
    "Request rate limit exceeded. Learn more about rate limits here"
    " https://stripe.com/docs/rate-limits."
)


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the API: status, JSON body, extra headers."""

    status: int
    body: JSON
    headers: Mapping[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """A Stripe error answer; `saved` when idempotency keeps it (the endpoint had run)."""

    def __init__(
        self,
        status: int,
        error: JSON,
        *,
        headers: Mapping[str, str] | None = None,
        saved: bool = False,
    ) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error
        self.headers = dict(headers or {})
        self.saved = saved

    def answer(self, request_id: str, now: float) -> Answer:
        """The error envelope, with the `request_log_url` Stripe adds."""
        log_url = f"https://dashboard.stripe.com/test/logs/{request_id}?t={int(now)}"
        return Answer(
            self.status, {"error": {**self.error, "request_log_url": log_url}}, self.headers
        )


def doc_url(code: str) -> str:
    """Stripe's documentation page for an error code."""
    return "https://stripe.com/docs/error-codes/" + code.replace("_", "-")


def card_error(
    code: str,
    message: str,
    param: str | None,
    decline_code: str | None = None,
    *,
    objects: Mapping[str, Any] | None = None,
) -> ApiError:
    """HTTP 402 `card_error`; the SDK raises `stripe.CardError`.

    `objects` are embedded in the error as Stripe embeds them (`setup_intent`,
    `payment_intent`, `payment_method`, the failed `charge`'s id): as the failed request
    left them.
    """
    error: JSON = {
        "type": "card_error",
        "code": code,
        "message": message,
        "doc_url": doc_url(code),
    }
    if param is not None:
        error["param"] = param
    if decline_code is not None:
        error["decline_code"] = decline_code
    error.update(objects or {})
    return ApiError(402, error, saved=True)


def invalid_request(
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    status: int = 400,
    saved: bool = False,
) -> ApiError:
    """HTTP 400 (or `status`) `invalid_request_error`; the SDK raises InvalidRequestError."""
    error: JSON = {"type": "invalid_request_error", "message": message}
    if param is not None:
        error["param"] = param
    if code is not None:
        error["code"] = code
        error["doc_url"] = doc_url(code)
    return ApiError(status, error, saved=saved)


def idempotency_error(message: str) -> ApiError:
    """HTTP 400 `idempotency_error`; the SDK raises IdempotencyError."""
    return ApiError(400, {"type": "idempotency_error", "message": message})


def unknown_params_error(names: Sequence[str]) -> ApiError:
    """`parameter_unknown`, naming the bracketed parameter(s) as Stripe does.

    One name: "Received unknown parameter: card[expiry]" with `param` set to it. Several:
    "Received unknown parameters: quantity, trial_end" (the plural wording is quoted in
    integrators' bug reports); `param` then names the first, an assumption.
    """
    if len(names) == 1:
        message = f"Received unknown parameter: {names[0]}"
    else:
        message = f"Received unknown parameters: {', '.join(names)}"
    return invalid_request(message, param=names[0], code="parameter_unknown")


def missing_param(name: str) -> ApiError:
    """`parameter_missing`: "Missing required param: name."."""
    return invalid_request(f"Missing required param: {name}.", param=name, code="parameter_missing")
