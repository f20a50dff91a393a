"""Request parameters in Stripe's bracket notation: reading them, and refusing unknown ones."""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import stripe
import typing_extensions
from stripe import params as stripe_params
from stripe.params import checkout as checkout_params

from emulator.stripe_api.cards import mask_pan, redact_pans
from emulator.stripe_api.exceptions import (
    JSON,
    ApiError,
    invalid_request,
    missing_param,
    unknown_params_error,
)

# ---------------------------------------------------------------- what each endpoint takes

PINNED_API_VERSION: Final[str] = stripe.api_version
"""The version stripe-python's typed params describe, and the account's default."""

ENDPOINT_PARAMS: Final[Mapping[tuple[str, str], type]] = {
    ("POST", "/v1/payment_methods"): stripe_params.PaymentMethodCreateParams,
    ("GET", "/v1/payment_methods/{payment_method}"): stripe_params.PaymentMethodRetrieveParams,
    ("POST", "/v1/customers"): stripe_params.CustomerCreateParams,
    ("GET", "/v1/customers/search"): stripe_params.CustomerSearchParams,
    ("GET", "/v1/customers/{customer}"): stripe_params.CustomerRetrieveParams,
    (
        "GET",
        "/v1/customers/{customer}/payment_methods",
    ): stripe_params.CustomerPaymentMethodListParams,
    ("POST", "/v1/checkout/sessions"): checkout_params.SessionCreateParams,
    ("GET", "/v1/checkout/sessions/{session}"): checkout_params.SessionRetrieveParams,
    ("POST", "/v1/checkout/sessions/{session}/expire"): checkout_params.SessionExpireParams,
    ("POST", "/v1/setup_intents"): stripe_params.SetupIntentCreateParams,
    ("GET", "/v1/setup_intents/{intent}"): stripe_params.SetupIntentRetrieveParams,
    ("POST", "/v1/setup_intents/{intent}/confirm"): stripe_params.SetupIntentConfirmParams,
    ("POST", "/v1/setup_intents/{intent}/cancel"): stripe_params.SetupIntentCancelParams,
    ("GET", "/v1/account"): stripe_params.AccountRetrieveCurrentParams,
    ("POST", "/v1/payment_intents"): stripe_params.PaymentIntentCreateParams,
    ("GET", "/v1/payment_intents/search"): stripe_params.PaymentIntentSearchParams,
    ("GET", "/v1/payment_intents/{intent}"): stripe_params.PaymentIntentRetrieveParams,
    ("POST", "/v1/payment_intents/{intent}/confirm"): stripe_params.PaymentIntentConfirmParams,
    ("POST", "/v1/payment_intents/{intent}/cancel"): stripe_params.PaymentIntentCancelParams,
    ("POST", "/v1/refunds"): stripe_params.RefundCreateParams,
    ("GET", "/v1/refunds/{refund}"): stripe_params.RefundRetrieveParams,
    ("GET", "/v1/charges/{charge}"): stripe_params.ChargeRetrieveParams,
}
"""Every (method, path template) the stand-in serves, with stripe-python's TypedDict for its
parameters at `PINNED_API_VERSION`."""

_SETUP_INTENT_CREATE: Final = ("POST", "/v1/setup_intents")
_SETUP_INTENT_UPDATE: Final = ("POST", "/v1/setup_intents/{intent}")  # not served
_SETUP_INTENT_CONFIRM: Final = ("POST", "/v1/setup_intents/{intent}/confirm")
_CHECKOUT_CREATE: Final = ("POST", "/v1/checkout/sessions")
_PAYMENT_INTENT_CREATE: Final = ("POST", "/v1/payment_intents")
_PAYMENT_INTENT_UPDATE: Final = ("POST", "/v1/payment_intents/{intent}")  # not served
_PAYMENT_INTENT_CONFIRM: Final = ("POST", "/v1/payment_intents/{intent}/confirm")


@dataclass(frozen=True)
class ParamChange:
    """A parameter an API version added or removed, from Stripe's changelog.

    Before `version` a removed parameter was accepted (typed `annotation`) and an added
    one was unknown. From `version` on, a removed parameter is refused with `code` when the
    changelog names one, else as unknown.
    """

    version: str  # the first API version with the change, YYYY-MM-DD
    endpoints: tuple[tuple[str, str], ...]
    param: str
    added: bool
    annotation: object = None
    code: str | None = None
    message: str | None = None
    source: str = ""


_CHANGELOG: Final = "https://docs.stripe.com/changelog/"
PARAM_CHANGES: Final[tuple[ParamChange, ...]] = (
    ParamChange(
        "2026-07-29",
        (
            _SETUP_INTENT_CREATE,
            _SETUP_INTENT_CONFIRM,
            _PAYMENT_INTENT_CREATE,
            _PAYMENT_INTENT_UPDATE,
            _PAYMENT_INTENT_CONFIRM,
        ),
        "allowed_payment_method_types",
        added=True,
        source=_CHANGELOG + "dahlia/2026-07-29/allowed-payment-method-types-parameter",
    ),
    ParamChange(
        "2026-09-30",
        (_CHECKOUT_CREATE,),
        "allowed_payment_method_types",
        added=True,
        source=_CHANGELOG + "endive/2026-09-30/remove-payment-method-types-checkout-sessions",
    ),
    # "You can no longer pass `payment_method_types` when you create a Checkout Session."
    # The entry names no error code, so the parameter is simply unknown.
    ParamChange(
        "2026-09-30",
        (_CHECKOUT_CREATE,),
        "payment_method_types",
        added=False,
        annotation=list[str],
        source=_CHANGELOG + "endive/2026-09-30/remove-payment-method-types-checkout-sessions",
    ),
    # "Passing `payment_method_types` on this API version returns a 400 error with the code
    # `payment_method_types_no_longer_supported`." The message is ours.
    ParamChange(
        "2026-09-30",
        (
            _SETUP_INTENT_CREATE,
            _SETUP_INTENT_UPDATE,
            _PAYMENT_INTENT_CREATE,
            _PAYMENT_INTENT_UPDATE,
            _PAYMENT_INTENT_CONFIRM,
        ),
        "payment_method_types",
        added=False,
        annotation=list[str],
        code="payment_method_types_no_longer_supported",
        message=(
            "`payment_method_types` is no longer supported on this API version. Use"
            " `allowed_payment_method_types` or `excluded_payment_method_types`, or manage"
            " payment methods from the Dashboard."
        ),
        source=_CHANGELOG
        + "endive/2026-09-30/removes-the-payment-method-types-parameter-from-payment-intents"
        "-and-setup-intents",
    ),
)

_VERSION = re.compile(r"(\d{4}-\d{2}-\d{2})(?:\.[a-z]+)?")


def api_version(header: str | None) -> str:
    """The API version a request is served at: its `Stripe-Version`, else the account's.

    A malformed version is a 400 (Stripe's wording is assumed). Versions newer than the
    pinned one are served as the pinned one: its typed params are all we know.
    """
    if header is None or not header.strip():
        return PINNED_API_VERSION
    version = header.strip()
    if _VERSION.fullmatch(version) is None:
        raise invalid_request(f"Invalid Stripe API version: {redact_pans(version)}")
    return version


def unknown_params(
    method: str,
    path: str,
    form: Mapping[str, str] | Iterable[tuple[str, str]],
    stripe_version: str | None = None,
) -> list[str]:
    """The bracketed names in `form` that `method path` does not take at `stripe_version`.

    `path` is a served template (`/v1/setup_intents/{intent}/confirm`) or a concrete path;
    `form` the form-encoded (or query) parameters, as a mapping or as pairs. A name is given
    as Stripe gives it: `card[expiry]`, `line_items[0][bogus]`, or the top-level name
    (`payment_method_types`) when the top level is already unknown. Raises LookupError for
    a (method, path) the stand-in does not serve.
    """
    endpoint = served_endpoint(method, path)
    if endpoint is None:
        raise LookupError(f"not served: {method.upper()} {path}")
    known = _params_at(endpoint, _date(stripe_version or PINNED_API_VERSION))
    pairs = form.items() if isinstance(form, Mapping) else form
    found: list[str] = []
    for key in numbered(pairs):
        parts = re.findall(r"[^\[\]]+", key) or [key]
        head = parts[0]
        name = head if head not in known else _unknown(known[head], parts[1:], head)
        if name is not None and name not in found:
            found.append(name)
    return found


def check_params(
    method: str, path: str, form: Mapping[str, str], stripe_version: str | None
) -> None:
    """ApiError(400) as Stripe refuses `form` on `method path`: a removed parameter with its
    own code, else `parameter_unknown`; nothing for an endpoint the table does not list."""
    if served_endpoint(method, path) is None:
        return
    names = unknown_params(method, path, form, stripe_version)
    if not names:
        return
    date = _date(stripe_version or PINNED_API_VERSION)
    endpoint = served_endpoint(method, path)
    for change in PARAM_CHANGES:
        if (
            not change.added
            and change.code is not None
            and endpoint in change.endpoints
            and change.param in names
            and date >= change.version
        ):
            raise invalid_request(
                change.message or f"Received unknown parameter: {change.param}",
                param=change.param,
                code=change.code,
            )
    raise unknown_params_error(names)


def served_endpoint(method: str, path: str) -> tuple[str, str] | None:
    """The (METHOD, template) key of `ENDPOINT_PARAMS` that `path` is, or None."""
    method = method.upper()
    if (method, path) in ENDPOINT_PARAMS:
        return (method, path)
    for key in sorted(ENDPOINT_PARAMS, key=lambda key: key[1].count("{")):
        if key[0] == method and _template(key[1]).fullmatch(path):
            return key
    return None


@functools.cache
def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(path)))


def _date(version: str) -> str:
    return version[:10]


def _params_at(endpoint: tuple[str, str], date: str) -> dict[str, object]:
    """The top-level parameters `endpoint` takes at the API version dated `date`."""
    known = dict(_hints(ENDPOINT_PARAMS[endpoint]))
    for change in PARAM_CHANGES:
        if endpoint not in change.endpoints or date >= change.version:
            continue
        if change.added:
            known.pop(change.param, None)
        else:
            known[change.param] = change.annotation
    return known


@functools.cache
def _hints(typed: object) -> Mapping[str, object]:
    """A TypedDict's fields and their types, without the SDK's request options.

    The params classes inherit `stripe.RequestOptions` (api_key, idempotency_key, ...) for
    the SDK's own keyword arguments; those travel as headers, and Stripe answers one sent as
    a form field as an unknown parameter (stripe-python issue #853). Each field is resolved
    on its own, in its class's module, so that the options' names, defined only for type
    checkers, are never needed.
    """
    inherited = stripe.RequestOptions.__annotations__
    hints: dict[str, object] = {}
    module = getattr(typed, "__module__", __name__)
    for name, annotation in getattr(typed, "__annotations__", {}).items():
        if inherited.get(name) is annotation:
            continue
        holder = type("_Field", (), {"__annotations__": {name: annotation}, "__module__": module})
        try:
            hints[name] = typing_extensions.get_type_hints(holder)[name]
        except NameError:  # a name only type checkers see: take any value
            hints[name] = Any
    return hints


def _unknown(hint: object, parts: Sequence[str], name: str) -> str | None:
    """The first name under `name` (typed `hint`) that `parts` leads out of, or None."""
    if not parts or hint is Any or hint is object or hint is None:
        return None
    origin = typing.get_origin(hint)
    if origin is typing.Union or isinstance(hint, types.UnionType):
        answers = [_unknown(arm, parts, name) for arm in typing.get_args(hint)]
        found = [answer for answer in answers if answer is not None]
        return None if len(found) < len(answers) else max(found, key=len)
    child = f"{name}[{parts[0]}]"
    if typing_extensions.is_typeddict(hint):
        fields = _hints(hint)
        if parts[0] not in fields:
            return child
        return _unknown(fields[parts[0]], parts[1:], child)
    if origin in (list, tuple, Sequence):
        if not parts[0].isdigit():
            return child
        args = typing.get_args(hint)
        return _unknown(args[0] if args else Any, parts[1:], child)
    if isinstance(origin, type) and issubclass(origin, Mapping | dict):
        args = typing.get_args(hint)
        return _unknown(args[-1] if args else Any, parts[1:], child)
    return child  # a scalar cannot have fields


# ---------------------------------------------------------------- bracket notation


def numbered(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters as a dict; repeated `name[]` keys become `name[0]`, `name[1]`, ..."""
    params: dict[str, str] = {}
    counts: dict[str, int] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            index = counts.get(key, 0)
            counts[key] = index + 1
            key = f"{key[:-2]}[{index}]"
        params[key] = value
    return params


def subkeys(params: Mapping[str, str], prefix: str) -> dict[str, str]:
    """`{"k": v}` for every `prefix[k]` parameter."""
    start = prefix + "["
    return {
        key[len(start) : -1]: value
        for key, value in params.items()
        if key.startswith(start) and key.endswith("]") and "[" not in key[len(start) : -1]
    }


def sequence_param(params: Mapping[str, str], name: str) -> list[str]:
    """The values of `name[0]`, `name[1]`, ... in index order."""
    pattern = re.compile(re.escape(name) + r"\[(\d+)\]")
    indexed = [
        (int(match.group(1)), value)
        for key, value in params.items()
        if (match := pattern.fullmatch(key))
    ]
    return [value for _, value in sorted(indexed)]


def expand_paths(params: Mapping[str, str]) -> list[str]:
    """The `expand[...]` parameter: dotted paths such as `setup_intent.payment_method`."""
    return sequence_param(params, "expand")


def digits_or_none(value: str) -> int | None:
    """A non-negative integer parameter, or None when it is not one."""
    value = value.strip()
    return int(value) if value.isdigit() else None


def metadata(params: Mapping[str, str], prefix: str = "metadata") -> dict[str, str]:
    """`prefix[key]` values, card-like digit runs masked; an empty value sets nothing."""
    return {key: redact_pans(value) for key, value in subkeys(params, prefix).items() if value}


def text(params: Mapping[str, str], name: str) -> str | None:
    """A free-text parameter, card-like digit runs masked; empty is None."""
    value = params.get(name)
    return redact_pans(value) if value else None


def url_param(params: Mapping[str, str], name: str, *, required: bool = False) -> str | None:
    """An http(s) URL parameter; `url_invalid` when it is not one."""
    url = params.get(name)
    if not url:
        if required:
            raise missing_param(name)
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise invalid_request("Not a valid URL", param=name, code="url_invalid")
    return url


def card_only(params: Mapping[str, str], name: str) -> list[str]:
    """A list of payment method types, refused unless every one is `card`."""
    values = sequence_param(params, name)
    for index, value in enumerate(values):
        if value != "card":
            raise invalid_request(
                f"Invalid {name}[{index}]: this test API emulates `card` only.",
                param=f"{name}[{index}]",
                code="parameter_invalid_string",
            )
    return values


def loggable_params(params: Mapping[str, str]) -> dict[str, str]:
    """What the request log may keep: number masked, CVC dropped, stray PANs masked."""
    kept: dict[str, str] = {}
    for key, value in params.items():
        if key == "cvc" or key.endswith("[cvc]"):
            continue
        if key == "number" or key.endswith("[number]"):
            kept[redact_pans(key)] = mask_pan(value)
        else:
            kept[redact_pans(key)] = redact_pans(value)
    return kept


# ---------------------------------------------------------------- shared by the intents


def automatic_payment_methods(params: Mapping[str, str]) -> JSON | None:
    """On unless `allowed_payment_method_types` is given (or, before 2026-09-30,
    `payment_method_types`), as Stripe's default has been since 2023-08-16.

    `allowed_payment_method_types` "is mutually exclusive with `payment_method_types`,
    `excluded_payment_method_types`, `automatic_payment_methods`, and
    `payment_method_configuration`" (changelog, 2026-07-29.dahlia); the error is worded
    as Stripe words other exclusive pairs.
    """
    allowed = card_only(params, "allowed_payment_method_types")
    types = card_only(params, "payment_method_types")
    given = subkeys(params, "automatic_payment_methods")
    if allowed:
        for other in ("payment_method_types", "excluded_payment_method_types"):
            if sequence_param(params, other):
                raise exclusive("allowed_payment_method_types", other)
        if given:
            raise exclusive("allowed_payment_method_types", "automatic_payment_methods")
    if allowed or types:
        return None
    enabled = boolean(given, "enabled", default=True, param="automatic_payment_methods[enabled]")
    redirects = given.get("allow_redirects", "always")
    if redirects not in ("always", "never"):
        raise invalid_request(
            "Invalid automatic_payment_methods[allow_redirects]: must be one of always or never",
            param="automatic_payment_methods[allow_redirects]",
            code="parameter_invalid_string",
        )
    return {"allow_redirects": redirects, "enabled": True} if enabled else None


def boolean(
    params: Mapping[str, str], name: str, *, default: bool = False, param: str | None = None
) -> bool:
    """A boolean parameter as the SDK sends one, `true` or `false`."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if value not in ("true", "false"):
        raise invalid_request(f"Invalid boolean: {redact_pans(value)}", param=param or name)
    return value == "true"


def exclusive(first: str, second: str) -> ApiError:
    """Two parameters that may not be given together, in Stripe's words."""
    return invalid_request(
        f"You may only specify one of these parameters: {first}, {second}.", param=second
    )


def refuse_not_emulated(params: Mapping[str, str], names: tuple[str, ...]) -> None:
    """Refuse by name a parameter that Stripe takes and this API does not act on, so that a
    test never believes in an effect it did not get."""
    for key in params:
        name = key.partition("[")[0]
        if name in names:
            raise not_emulated(name)


def not_emulated(name: str) -> ApiError:
    """400 naming a parameter this API does not emulate."""
    return invalid_request(f"`{name}` is not emulated by this test API.", param=name)
