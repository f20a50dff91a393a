"""The control plane under `/_emulator/`: faults, the request log, settings, and driving
Checkout and events by hand. No API key; not recorded in the request log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web

from emulator.stripe_api.exceptions import JSON, ApiError
from emulator.stripe_api.responses import EMULATOR


def _control_error(message: str) -> web.Response:
    body = {"error": {"type": "invalid_request_error", "message": message}}
    return web.json_response(body, status=400)


async def _json_object(request: web.Request) -> JSON | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _fault_kwargs(body: Mapping[str, Any]) -> JSON:
    """`inject` keyword arguments from a control request's JSON, type-checked."""
    expected: dict[str, tuple[type, ...]] = {
        "status": (int, type(None)),
        "delay": (int, float),
        "count": (int,),
        "code": (str, type(None)),
        "should_retry": (bool, type(None)),
        "path": (str, type(None)),
    }
    unknown = set(body) - set(expected)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    for name, value in body.items():
        bad_bool = isinstance(value, bool) and name != "should_retry"
        if bad_bool or not isinstance(value, expected[name]):
            raise ValueError(f"{name} has the wrong type")
    return dict(body)


async def control_inject(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _control_error("send a JSON object")
    emulator = request.app[EMULATOR]
    try:
        emulator.inject(**_fault_kwargs(body))
    except ValueError as exc:
        return _control_error(str(exc))
    return web.json_response({"pending_faults": emulator.pending_faults})


async def control_clear_faults(request: web.Request) -> web.Response:
    request.app[EMULATOR].clear_faults()
    return web.json_response({"pending_faults": 0})


_SETTINGS: Final[Mapping[str, tuple[type, ...]]] = {
    "raw_card_data": (bool,),
    "webhook_url": (str, type(None)),
    "webhook_secret": (str,),
}


async def control_settings(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    if request.method == "POST":
        body = await _json_object(request)
        usage = "send any of raw_card_data (bool), webhook_url (str|null), webhook_secret (str)"
        if not body or any(
            name not in _SETTINGS or not isinstance(value, _SETTINGS[name])
            for name, value in body.items()
        ):
            return _control_error(usage)
        try:
            if "webhook_url" in body:
                emulator.webhook_url = body["webhook_url"]
            if "webhook_secret" in body:
                emulator.webhook_secret = body["webhook_secret"]
        except ValueError as exc:
            return _control_error(str(exc))
        if "raw_card_data" in body:
            emulator.raw_card_data = body["raw_card_data"]
    return web.json_response(
        {
            "raw_card_data": emulator.raw_card_data,
            "webhook_url": emulator.webhook_url,
            "webhook_secret": emulator.webhook_secret,
        }
    )


def _api_error_response(error: ApiError) -> web.Response:
    return web.json_response({"error": error.error}, status=error.status)


_CARD_FIELDS: Final[Mapping[str, type]] = {
    "number": str,
    "exp_month": int,
    "exp_year": int,
    "cvc": str,
    "name": str,
    "authentication": str,
}


def _card_kwargs(body: Mapping[str, Any]) -> JSON:
    """`complete_checkout` keyword arguments from JSON; errors name fields, never values."""
    unknown = set(body) - set(_CARD_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
    for name, value in body.items():
        if isinstance(value, bool) or not isinstance(value, _CARD_FIELDS[name]):
            raise ValueError(f"{name} must be a {_CARD_FIELDS[name].__name__}")
    return dict(body)


async def control_complete_checkout(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _control_error(
            "send a JSON object: number, exp_month, exp_year, cvc, name, authentication"
        )
    try:
        kwargs = _card_kwargs(body)
    except ValueError as exc:
        return _control_error(str(exc))
    try:
        session = request.app[EMULATOR].complete_checkout(request.match_info["session"], **kwargs)
    except ApiError as error:
        return _api_error_response(error)
    except ValueError as exc:
        return _control_error(str(exc))
    return web.json_response(session)


async def control_authenticate(request: web.Request) -> web.Response:
    """Finish a SetupIntent's or PaymentIntent's 3D Secure step without a browser, as
    `/3ds/{intent}` does.

    JSON `{"outcome": "complete" | "fail"}`; answers `{"setup_intent": {...}, "return_url":
    <where the bank's page would send the cardholder, or null>}` (`"payment_intent"` under
    `/_emulator/payment_intents/`), or Stripe's error.
    """
    body = await _json_object(request)
    outcome = None if body is None else body.get("outcome")
    if body is None or set(body) != {"outcome"} or outcome not in ("complete", "fail"):
        return _control_error('send a JSON object: {"outcome": "complete" | "fail"}')
    emulator = request.app[EMULATOR]
    intent_id = request.match_info["intent"]
    payment = request.path.startswith("/_emulator/payment_intents/")
    authenticate = (
        emulator.authenticate_payment_intent if payment else emulator.authenticate_setup_intent
    )
    try:
        intent = authenticate(intent_id, str(outcome))
    except ApiError as error:
        return _api_error_response(error)
    return web.json_response(
        {
            "payment_intent" if payment else "setup_intent": intent,
            "return_url": emulator.authentication_redirect(intent_id),
        }
    )


async def control_expire_checkout(request: web.Request) -> web.Response:
    try:
        session = request.app[EMULATOR].expire_checkout(request.match_info["session"])
    except ApiError as error:
        return _api_error_response(error)
    return web.json_response(session)


async def control_redeliver(request: web.Request) -> web.Response:
    event_id = request.match_info["event"]
    try:
        request.app[EMULATOR].redeliver(event_id)
    except KeyError:
        body = {"error": {"type": "invalid_request_error", "message": f"No such event: {event_id}"}}
        return web.json_response(body, status=404)
    except ValueError as exc:
        return _control_error(str(exc))
    return web.json_response({"redelivered": event_id})


async def control_events(request: web.Request) -> web.Response:
    return web.json_response({"data": request.app[EMULATOR].events})


async def control_webhook_deliveries(request: web.Request) -> web.Response:
    deliveries = request.app[EMULATOR].webhook_deliveries
    return web.json_response({"data": [delivery.to_json() for delivery in deliveries]})
