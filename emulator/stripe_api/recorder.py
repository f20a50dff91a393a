"""In front of the API: what the request log keeps, the faults a request can meet, and
idempotent replay. The log and the fault queue themselves are `emulator.control`'s."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from emulator.stripe_api.exceptions import (
    JSON,
    RATE_LIMIT_MESSAGE,
    Answer,
    ApiError,
    doc_url,
    idempotency_error,
)


@dataclass(frozen=True)
class RecordedRequest:
    """One API call as the request log keeps it; never a full card number or a CVC."""

    request_id: str
    method: str
    path: str
    status: int
    duration_ms: float
    idempotency_key: str | None
    params: dict[str, str]  # card[number] masked to last four, card[cvc] removed
    replayed: bool = False
    fault: str | None = None  # e.g. "status=500", "delay=0.3s"

    def to_json(self) -> JSON:
        """A JSON-ready copy."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Fault:
    """What happens to one upcoming API request: a delay, then maybe an error status.

    `Stripe-Should-Retry`: stripe-python retries when it is "true", never when "false", and
    otherwise on 409 and 5xx, up to max_network_retries, reusing the Idempotency-Key it
    sends on every POST (a random one unless the caller gives one).
    """

    status: int | None = None
    delay: float = 0.0
    code: str | None = None
    should_retry: bool | None = True  # the Stripe-Should-Retry header; None omits it
    path: str | None = None
    """Only requests to this path (e.g. `/v1/payment_methods`) meet the fault; None: any."""

    def describe(self) -> str:
        """`delay=0.3s status=500`, for the request log."""
        parts = [f"delay={self.delay:g}s"] if self.delay else []
        return " ".join([*parts, f"status={self.status}"] if self.status else parts)

    def answer(self, request_id: str, now: float) -> Answer:
        """Stripe's error answer for this fault's status.

        Rate limits: 429, type invalid_request_error, code rate_limit; the SDK raises
        RateLimitError for any 429. The message text is not confirmed.
        """
        assert self.status is not None
        if self.status == 429:
            code = self.code or "rate_limit"
            error: JSON = {
                "type": "invalid_request_error",
                "code": code,
                "message": RATE_LIMIT_MESSAGE,
                "doc_url": doc_url(code),
            }
        elif self.status >= 500:
            error = {"type": "api_error", "message": "An unknown error occurred"}
        else:
            error = {"type": "invalid_request_error", "message": f"Injected HTTP {self.status}."}
        if self.code is not None:
            error["code"] = self.code
        headers = (
            {} if self.should_retry is None else {"Stripe-Should-Retry": _bool(self.should_retry)}
        )
        return ApiError(self.status, error, headers=headers).answer(request_id, now)


@dataclass(frozen=True)
class _SavedResult:
    endpoint: str
    params_digest: str
    answer: Answer
    request_id: str


class Idempotency:
    """Saved results by (API key, Idempotency-Key); the caller's lock guards it.

    Results are saved once the endpoint has begun executing (so a card error is saved, and
    a corrected card under the same key meets idempotency_error); a request that fails
    parameter validation saves nothing. Replays carry `Idempotent-Replayed: true` and
    `Original-Request: req_...`. Only a keyed digest of the parameters is kept, never the
    parameters: they may hold a card number.
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._saved: dict[tuple[str, str], _SavedResult] = {}

    def digest(self, params: Mapping[str, str]) -> str:
        """A keyed digest of the parameters, to tell a replay from a different request."""
        canonical = json.dumps(sorted(params.items())).encode()
        return hmac.new(self._secret, canonical, hashlib.sha256).hexdigest()

    def replay(
        self,
        api_key: str,
        key: str,
        *,
        endpoint: str,
        digest: str,
        request_id: str,
        now: float,
    ) -> Answer | None:
        """What an earlier request with `key` got (or an idempotency error); None if new."""
        saved = self._saved.get((api_key, key))
        if saved is None:
            return None
        if saved.endpoint != endpoint:
            error = idempotency_error(
                "Keys for idempotent requests can only be used for the same endpoint they were"
                f" first used for ('{saved.endpoint}' vs '{endpoint}'). Try using"
                f" a key other than '{key}' if you meant to execute a different request."
            )
            return error.answer(request_id, now)
        if not hmac.compare_digest(saved.params_digest, digest):
            error = idempotency_error(
                "Keys for idempotent requests can only be used with the same parameters they"
                f" were first used with. Try using a key other than '{key}' if you meant to"
                " execute a different request."
            )
            return error.answer(request_id, now)
        headers = {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
        return Answer(saved.answer.status, copy.deepcopy(saved.answer.body), headers)

    def save(
        self,
        api_key: str,
        key: str,
        *,
        endpoint: str,
        digest: str,
        answer: Answer,
        request_id: str,
    ) -> None:
        """Keep `answer` for replays of `key`."""
        self._saved[(api_key, key)] = _SavedResult(endpoint, digest, answer, request_id)

    def clear(self) -> None:
        """Forget every saved result."""
        self._saved.clear()


def _bool(value: bool) -> str:
    return "true" if value else "false"
