"""The HTTP face of `/v1`: Stripe's envelope around every answer, and one handler per call."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from emulator.stripe_api.cards import redact_pans
from emulator.stripe_api.exceptions import Answer, ApiError, invalid_request
from emulator.stripe_api.models import StripeEmulator
from emulator.stripe_api.objects import new_id
from emulator.stripe_api.params import api_version, check_params, loggable_params, numbered
from emulator.stripe_api.recorder import Fault, RecordedRequest
from emulator.stripe_api.webhooks import HELD_WEBHOOKS, WebhookJob

logger = logging.getLogger("emulator.stripe_api")  # the same name under `python -m`


@dataclass
class Call:
    """What the envelope learnt about the API request being served."""

    request_id: str
    params: dict[str, str]
    api_key: str = ""


EMULATOR: Final = web.AppKey("stripe_emulator", StripeEmulator)
CALL: Final = web.RequestKey("stripe_call", Call)


def json_response(answer: Answer) -> web.Response:
    """An API answer as aiohttp sends it."""
    return web.Response(
        status=answer.status,
        text=json.dumps(answer.body, indent=2),
        content_type="application/json",
        headers=answer.headers,
    )


async def _read_params(request: web.Request) -> dict[str, str]:
    pairs = list(request.query.items())
    if request.method == "POST":
        form = await request.post()
        pairs += [(key, value) for key, value in form.items() if isinstance(value, str)]
    return numbered(pairs)


# ---------------------------------------------------------------- the envelope


@web.middleware
async def stripe_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request-Id on every answer; faults, auth, the request log and a safe 500 on /v1.

    Events the request caused are sent once its answer is out, as Stripe's are: a page's
    redirect never waits for the webhook endpoint.
    """
    held: list[WebhookJob] = []
    token = HELD_WEBHOOKS.set(held)
    try:
        if request.path.startswith("/v1/"):
            response = await _api_envelope(request, handler)
        else:
            response = await _other_envelope(request, handler)
    except BaseException:
        request.app[EMULATOR].release_webhooks(held)
        raise
    finally:
        HELD_WEBHOOKS.reset(token)
    if held:
        try:
            await response.prepare(request)
            await response.write_eof()
        finally:
            request.app[EMULATOR].release_webhooks(held)
    return response


async def _other_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = new_id("req_", 14)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["Request-Id"] = request_id
        raise
    response.headers["Request-Id"] = request_id
    if request.path.startswith(("/pay/", "/3ds/")):
        logger.info("%s %s -> %d", request.method, redact_pans(request.path), response.status)
    return response


async def _api_envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
    emulator = request.app[EMULATOR]
    started = time.perf_counter()
    call = Call(new_id("req_", 14), await _read_params(request))
    request[CALL] = call
    fault = emulator.take_fault(request.path)
    response = await _answer_api_call(request, handler, emulator, fault)
    response.headers["Request-Id"] = call.request_id
    if "Stripe-Version" in request.headers:
        response.headers["Stripe-Version"] = request.headers["Stripe-Version"]
    key = request.headers.get("Idempotency-Key")
    if key is not None and request.method == "POST":
        response.headers["Idempotency-Key"] = key
    entry = RecordedRequest(
        request_id=call.request_id,
        method=request.method,
        path=redact_pans(request.path),
        status=response.status,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
        idempotency_key=None if key is None else redact_pans(key),
        params=loggable_params(call.params),
        replayed=response.headers.get("Idempotent-Replayed") == "true",
        fault=fault.describe() if fault else None,
    )
    emulator.record(entry)
    logger.info(
        "%s %s -> %d in %.1f ms%s",
        entry.method,
        entry.path,
        entry.status,
        entry.duration_ms,
        " (replayed)" if entry.replayed else "",
    )
    return response


async def _answer_api_call(
    request: web.Request, handler: Handler, emulator: StripeEmulator, fault: Fault | None
) -> web.StreamResponse:
    call = request[CALL]
    if fault is not None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status is not None:
            return json_response(fault.answer(call.request_id, emulator.now()))
    try:
        call.api_key = emulator.authenticate(request.headers.get("Authorization"))
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else request.path
        version = api_version(request.headers.get("Stripe-Version"))
        check_params(request.method, template, call.params, version)
        return await handler(request)
    except ApiError as error:
        return json_response(error.answer(call.request_id, emulator.now()))
    except Exception as exc:  # an emulator bug; the message could quote a parameter
        logger.error(
            "unexpected %s answering %s %s", type(exc).__name__, request.method, request.path
        )
        failure = ApiError(
            500,
            {"type": "api_error", "message": "An unknown error occurred"},
            headers={"Stripe-Should-Retry": "false"},
        )
        return json_response(failure.answer(call.request_id, emulator.now()))


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= 255:
        raise invalid_request("Idempotency keys must be between 1 and 255 characters long.")
    return key


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


# ---------------------------------------------------------------- /v1 handlers


async def create_payment_method(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].create_payment_method(
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def retrieve_payment_method(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_payment_method(
        request.match_info["payment_method"], request[CALL].params
    )
    return json_response(answer)


async def create_customer(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].create_customer(
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def search_customers(request: web.Request) -> web.Response:
    return json_response(request.app[EMULATOR].search_customers(request[CALL].params))


async def retrieve_customer(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_customer(
        request.match_info["customer"], request[CALL].params
    )
    return json_response(answer)


async def list_customer_payment_methods(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].list_customer_payment_methods(
        request.match_info["customer"], request[CALL].params
    )
    return json_response(answer)


async def create_checkout_session(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].create_checkout_session(
        call.params,
        base_url=_base_url(request),
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def retrieve_checkout_session(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_checkout_session(
        request.match_info["session"], request[CALL].params
    )
    return json_response(answer)


async def expire_checkout_session(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].expire_checkout_session(
        request.match_info["session"],
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def create_setup_intent(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].create_setup_intent(
        call.params,
        base_url=_base_url(request),
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def confirm_setup_intent(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].confirm_setup_intent(
        request.match_info["intent"],
        call.params,
        base_url=_base_url(request),
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def cancel_setup_intent(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].cancel_setup_intent(
        request.match_info["intent"],
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def retrieve_account(request: web.Request) -> web.Response:
    return json_response(request.app[EMULATOR].retrieve_account(request[CALL].params))


async def retrieve_setup_intent(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_setup_intent(
        request.match_info["intent"], request[CALL].params
    )
    return json_response(answer)


async def unrecognized(request: web.Request) -> web.Response:
    raise invalid_request(
        f"Unrecognized request URL ({request.method}: {request.path}). Please see"
        " https://stripe.com/docs or we can help at https://support.stripe.com/.",
        status=404,
    )


async def create_payment_intent(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].create_payment_intent(
        call.params,
        base_url=_base_url(request),
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def retrieve_payment_intent(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_payment_intent(
        request.match_info["intent"], request[CALL].params
    )
    return json_response(answer)


async def search_payment_intents(request: web.Request) -> web.Response:
    return json_response(request.app[EMULATOR].search_payment_intents(request[CALL].params))


async def confirm_payment_intent(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].confirm_payment_intent(
        request.match_info["intent"],
        call.params,
        base_url=_base_url(request),
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def cancel_payment_intent(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].cancel_payment_intent(
        request.match_info["intent"],
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def create_refund(request: web.Request) -> web.Response:
    call = request[CALL]
    answer = request.app[EMULATOR].create_refund(
        call.params,
        api_key=call.api_key,
        idempotency_key=_idempotency_key(request),
        request_id=call.request_id,
    )
    return json_response(answer)


async def retrieve_refund(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_refund(
        request.match_info["refund"], request[CALL].params
    )
    return json_response(answer)


async def retrieve_charge(request: web.Request) -> web.Response:
    answer = request.app[EMULATOR].retrieve_charge(
        request.match_info["charge"], request[CALL].params
    )
    return json_response(answer)
