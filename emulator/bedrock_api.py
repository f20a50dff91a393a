"""A local Amazon Bedrock Runtime `Converse` endpoint with scripted replies, for boto3.

Point boto3 at it with `endpoint_url=` or `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`. Each valid
request takes the next reply from the queue filled by `BedrockEmulator.script` (or
`POST /_emulator/script`); an invalid request gets a `ValidationException` and leaves the
queue alone, as Bedrock rejects it before any model runs. With the queue empty the answer is
`BedrockEmulator.default_reply`, or the text "(no scripted reply)" when that is unset, even if
the request forces a tool (callers see that as a malformed answer).

Token usage depends only on the request and the reply, so runs can be compared:
inputTokens = ceil(characters of the compact JSON of `system`, `messages` and
`toolConfig.tools` / 4); outputTokens = ceil((characters of reply text + of each toolUse's
name and compact JSON input) / 4). A text reply longer than `inferenceConfig.maxTokens` is cut
to maxTokens * 4 characters and stops with `max_tokens`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from aiohttp import web

__all__ = [
    "GUARDRAIL_BLOCKED_TEXT",
    "NO_SCRIPTED_REPLY",
    "BedrockEmulator",
    "DelayReply",
    "ErrorReply",
    "MalformedReply",
    "RecordedRequest",
    "Reply",
    "TextReply",
    "ToolUseReply",
    "create_app",
    "delay",
    "guardrail_intervened",
    "main",
    "malformed",
    "model_error",
    "model_timeout",
    "reply_from_spec",
    "request_problem",
    "server_error",
    "service_unavailable",
    "text",
    "throttle",
    "tool_use",
    "validation_error",
]

NO_SCRIPTED_REPLY = "(no scripted reply)"
GUARDRAIL_BLOCKED_TEXT = "Sorry, I can't help with that."
ERROR_TYPE_HEADER = "x-amzn-ErrorType"  # botocore's rest-json parser takes the error code from it

StopReason = Literal[
    "end_turn",
    "tool_use",
    "max_tokens",
    "stop_sequence",
    "guardrail_intervened",
    "content_filtered",
]
MalformedMode = Literal["bad_input", "no_tool_call", "malformed_tool_use"]


@dataclass(frozen=True)
class TextReply:
    """The model answers with text."""

    text: str
    stop_reason: StopReason = "end_turn"


@dataclass(frozen=True)
class ToolUseReply:
    """The model calls a tool (stopReason `tool_use`), optionally after some text."""

    name: str
    tool_input: Mapping[str, Any]
    text: str | None = None


@dataclass(frozen=True)
class MalformedReply:
    """An answer a careful caller must reject.

    `bad_input`: a toolUse for the forced (else first) tool whose every schema property has the
    wrong JSON type; `no_tool_call`: plain text, even when a tool is forced;
    `malformed_tool_use`: no content and Bedrock's `malformed_tool_use` stop reason.
    """

    mode: MalformedMode = "bad_input"


@dataclass(frozen=True)
class ErrorReply:
    """Bedrock answers with an error instead of a model reply."""

    code: str
    status: int
    message: str


@dataclass(frozen=True)
class DelayReply:
    """Wait `seconds`, then answer with `then`."""

    seconds: float
    then: Reply


Reply = TextReply | ToolUseReply | MalformedReply | ErrorReply | DelayReply


def text(content: str, *, stop_reason: StopReason = "end_turn") -> TextReply:
    """A text answer."""
    return TextReply(content, stop_reason)


def tool_use(name: str, tool_input: Mapping[str, Any], *, text: str | None = None) -> ToolUseReply:
    """A call of tool `name` with `tool_input`; `text` is said before the call."""
    return ToolUseReply(name, dict(tool_input), text)


def guardrail_intervened(content: str = GUARDRAIL_BLOCKED_TEXT) -> TextReply:
    """The guardrail's blocked-message text with stopReason `guardrail_intervened`."""
    return TextReply(content, "guardrail_intervened")


def malformed(mode: MalformedMode = "bad_input") -> MalformedReply:
    """An answer that does not fit the request (see `MalformedReply`)."""
    return MalformedReply(mode)


def throttle(message: str = "Too many requests, please wait before trying again.") -> ErrorReply:
    """HTTP 429 `ThrottlingException` (botocore retries it)."""
    return ErrorReply("ThrottlingException", 429, message)


def validation_error(message: str) -> ErrorReply:
    """HTTP 400 `ValidationException`."""
    return ErrorReply("ValidationException", 400, message)


def server_error(message: str = "The server encountered an internal error.") -> ErrorReply:
    """HTTP 500 `InternalServerException` (botocore retries it)."""
    return ErrorReply("InternalServerException", 500, message)


def service_unavailable(message: str = "The service is unavailable.") -> ErrorReply:
    """HTTP 503 `ServiceUnavailableException` (botocore retries it)."""
    return ErrorReply("ServiceUnavailableException", 503, message)


def model_error(message: str = "The model failed to process the request.") -> ErrorReply:
    """HTTP 424 `ModelErrorException`."""
    return ErrorReply("ModelErrorException", 424, message)


def model_timeout(message: str = "Model has timed out in processing the request.") -> ErrorReply:
    """HTTP 408 `ModelTimeoutException`."""
    return ErrorReply("ModelTimeoutException", 408, message)


def delay(seconds: float, then: Reply) -> DelayReply:
    """Answer with `then` after `seconds`."""
    if seconds < 0:
        raise ValueError("delay seconds must not be negative")
    return DelayReply(seconds, then)


_ERRORS_BY_KIND: dict[str, Callable[..., ErrorReply]] = {
    "throttle": throttle,
    "server_error": server_error,
    "service_unavailable": service_unavailable,
    "model_error": model_error,
    "model_timeout": model_timeout,
}


def reply_from_spec(spec: Mapping[str, Any]) -> Reply:
    """A reply from its JSON form, e.g. `{"kind": "tool_use", "name": "n", "input": {}}`.

    Kinds: text {text, stop_reason?}, tool_use {name, input, text?}, guardrail_intervened
    {text?}, malformed {mode?}, validation_error {message}, throttle / server_error /
    service_unavailable / model_error / model_timeout {message?}, delay {seconds, then}.
    Raises ValueError for anything else.
    """
    if not isinstance(spec, Mapping):
        raise ValueError("a reply spec must be a JSON object")
    kind = spec.get("kind")
    try:
        return _reply_of_kind(kind, spec)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"reply spec {kind!r} is missing or has a bad field: {exc}") from exc


def _reply_of_kind(kind: object, spec: Mapping[str, Any]) -> Reply:
    if kind == "text":
        stop_reason = spec.get("stop_reason", "end_turn")
        if stop_reason not in get_args(StopReason):
            raise ValueError(f"unknown stop_reason {stop_reason!r}")
        return text(_str(spec["text"]), stop_reason=stop_reason)
    if kind == "tool_use":
        if not isinstance(spec["input"], Mapping):
            raise ValueError("tool_use input must be a JSON object")
        said = _str(spec["text"]) if "text" in spec else None
        return tool_use(_str(spec["name"]), spec["input"], text=said)
    if kind == "guardrail_intervened":
        return guardrail_intervened(_str(spec.get("text", GUARDRAIL_BLOCKED_TEXT)))
    if kind == "malformed":
        mode = spec.get("mode", "bad_input")
        if mode not in get_args(MalformedMode):
            raise ValueError(f"unknown malformed mode {mode!r}")
        return malformed(mode)
    if kind == "validation_error":
        return validation_error(_str(spec["message"]))
    if kind in _ERRORS_BY_KIND:
        factory = _ERRORS_BY_KIND[str(kind)]
        return factory(_str(spec["message"])) if "message" in spec else factory()
    if kind == "delay":
        seconds = spec["seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("delay seconds must be a number")
        return delay(float(seconds), reply_from_spec(spec["then"]))
    raise ValueError(f"unknown reply kind {kind!r}")


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


@dataclass
class RecordedRequest:
    """One Converse request as received; `status` is None until it has been answered."""

    model_id: str
    body: Any  # the parsed JSON body, or None when it was not JSON
    timestamp: float
    status: int | None = None
    error_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as JSON, keys as in `GET /_emulator/requests`."""
        return {
            "modelId": self.model_id,
            "body": self.body,
            "timestamp": self.timestamp,
            "status": self.status,
            "errorCode": self.error_code,
        }


class BedrockEmulator:
    """Scripted Converse replies and a log of requests; safe to use from any thread."""

    def __init__(
        self, *, default_reply: Reply | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.default_reply = default_reply
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._tool_uses = 0

    def script(self, *replies: Reply) -> None:
        """Queue `replies`; each valid request takes the next one."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget queued replies, recorded requests and the default reply."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._tool_uses = 0
            self.default_reply = None

    @property
    def requests(self) -> list[RecordedRequest]:
        """Copies of the recorded Converse requests, oldest first."""
        with self._lock:
            return [replace(record) for record in self._requests]

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._queue)

    def next_reply(self) -> Reply:
        """The next scripted reply, else the default one."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            return self.default_reply or TextReply(NO_SCRIPTED_REPLY)

    def record(self, model_id: str, body: Any) -> RecordedRequest:
        """Log a request as it arrives; `answered` completes the record."""
        record = RecordedRequest(model_id, body, self._clock())
        with self._lock:
            self._requests.append(record)
        return record

    def answered(self, record: RecordedRequest, status: int, error_code: str | None) -> None:
        """Note how a logged request was answered."""
        with self._lock:
            record.status = status
            record.error_code = error_code

    def new_tool_use_id(self) -> str:
        """A fresh toolUseId, predictable across runs."""
        with self._lock:
            self._tool_uses += 1
            return f"tooluse_emulated{self._tool_uses:06d}"


def create_app(emulator: BedrockEmulator) -> web.Application:
    """The Converse endpoint plus `/_emulator/*` control routes, backed by `emulator`."""

    async def converse(request: web.Request) -> web.Response:
        started = time.monotonic()
        body = _parse_json(await request.read())
        record = emulator.record(request.match_info["model_id"], body)
        response = await _answer(emulator, body, started)
        emulator.answered(record, response.status, response.headers.get(ERROR_TYPE_HEADER))
        return response

    async def list_requests(_: web.Request) -> web.Response:
        return web.json_response([record.to_json() for record in emulator.requests])

    async def reset(_: web.Request) -> web.Response:
        emulator.reset()
        return web.json_response({"ok": True})

    async def script(request: web.Request) -> web.Response:
        specs = _parse_json(await request.read())
        try:
            if not isinstance(specs, list):
                raise ValueError("the body must be a JSON list of reply specs")
            replies = [reply_from_spec(spec) for spec in specs]
        except ValueError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        emulator.script(*replies)
        return web.json_response({"queued": len(replies), "pending": emulator.pending})

    app = web.Application()
    # ".+" because a hand-typed ARN may arrive with its '/' unencoded; botocore encodes it.
    app.router.add_post("/model/{model_id:.+}/converse", converse)
    app.router.add_get("/_emulator/requests", list_requests)
    app.router.add_post("/_emulator/reset", reset)
    app.router.add_post("/_emulator/script", script)
    return app


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def _answer(emulator: BedrockEmulator, body: Any, started: float) -> web.Response:
    problem = request_problem(body)
    if problem is not None:
        return _error_response(validation_error(problem))
    reply = emulator.next_reply()
    while isinstance(reply, DelayReply):
        await asyncio.sleep(reply.seconds)
        reply = reply.then
    if isinstance(reply, ErrorReply):
        return _error_response(reply)
    content, stop_reason = _render(reply, body, emulator.new_tool_use_id)
    input_tokens = _tokens(_input_chars(body))
    output_tokens = _tokens(_output_chars(content))
    return web.json_response(
        {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": stop_reason,
            "usage": {
                "inputTokens": input_tokens,
                "outputTokens": output_tokens,
                "totalTokens": input_tokens + output_tokens,
            },
            "metrics": {"latencyMs": round((time.monotonic() - started) * 1000)},
        },
        headers={"x-amzn-RequestId": str(uuid.uuid4())},
    )


def _error_response(error: ErrorReply) -> web.Response:
    headers = {ERROR_TYPE_HEADER: error.code, "x-amzn-RequestId": str(uuid.uuid4())}
    return web.json_response({"message": error.message}, status=error.status, headers=headers)


_START_WITH_USER = (
    "A conversation must start with a user message. "
    "Try again with a conversation that starts with a user message."
)
_ALTERNATE = (
    "A conversation must alternate between user and assistant roles. "
    "Make sure the conversation alternates between user and assistant roles and try again."
)


def request_problem(body: Any) -> str | None:
    """Why Bedrock would reject this Converse body (the checks it makes first), or None."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _START_WITH_USER
    previous_role = None
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return f"messages.{index}.role must be one of: user, assistant."
        if index == 0 and role != "user":
            return _START_WITH_USER
        if role == previous_role:
            return _ALTERNATE
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return (
                f"The content field in the Message object at messages.{index} is empty. "
                "Add a ContentBlock object to the content field and try again."
            )
        previous_role = role
    return _tool_config_problem(body.get("toolConfig"))


def _tool_config_problem(tool_config: Any) -> str | None:
    if tool_config is None:
        return None
    if not isinstance(tool_config, dict) or not tool_config.get("tools"):
        return "toolConfig.tools must contain at least one tool."
    names = set(_tool_schemas(tool_config))
    choice = tool_config.get("toolChoice")
    if choice is None:
        return None
    if not isinstance(choice, dict) or len(choice) != 1 or next(iter(choice)) not in _CHOICES:
        return "toolConfig.toolChoice must set exactly one of: auto, any, tool."
    forced = choice.get("tool")
    if forced is not None and (not isinstance(forced, dict) or forced.get("name") not in names):
        name = forced.get("name") if isinstance(forced, dict) else None
        return f"toolChoice.tool.name {name!r} is not a tool defined in toolConfig.tools."
    return None


_CHOICES = ("auto", "any", "tool")


def _tool_schemas(tool_config: Any) -> dict[str, Any]:
    """Tool name -> its JSON input schema, in the order the tools were given."""
    schemas: dict[str, Any] = {}
    tools = tool_config.get("tools") if isinstance(tool_config, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            schema = spec.get("inputSchema")
            schemas[spec["name"]] = schema.get("json") if isinstance(schema, dict) else None
    return schemas


def _render(
    reply: TextReply | ToolUseReply | MalformedReply,
    body: dict[str, Any],
    new_tool_use_id: Callable[[], str],
) -> tuple[list[dict[str, Any]], str]:
    """Content blocks and stop reason for `reply` to `body`."""
    if isinstance(reply, TextReply):
        return _render_text(reply, body)
    if isinstance(reply, ToolUseReply):
        blocks: list[dict[str, Any]] = [] if reply.text is None else [{"text": reply.text}]
        call = {"toolUseId": new_tool_use_id(), "name": reply.name, "input": reply.tool_input}
        return [*blocks, {"toolUse": call}], "tool_use"
    if reply.mode == "no_tool_call":
        return [{"text": "(answered without calling a tool)"}], "end_turn"
    if reply.mode == "malformed_tool_use":
        return [], "malformed_tool_use"
    name, schema = _wanted_tool(body.get("toolConfig"))
    call = {"toolUseId": new_tool_use_id(), "name": name, "input": _wrongly_typed_input(schema)}
    return [{"toolUse": call}], "tool_use"


def _render_text(reply: TextReply, body: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    config = body.get("inferenceConfig")
    max_tokens = config.get("maxTokens") if isinstance(config, dict) else None
    if isinstance(max_tokens, int) and _tokens(len(reply.text)) > max_tokens:
        return [{"text": reply.text[: max_tokens * 4]}], "max_tokens"
    return [{"text": reply.text}], reply.stop_reason


def _wanted_tool(tool_config: Any) -> tuple[str, Any]:
    """The forced tool, else the first defined one, with its schema."""
    schemas = _tool_schemas(tool_config)
    choice = tool_config.get("toolChoice") if isinstance(tool_config, dict) else None
    forced = choice.get("tool") if isinstance(choice, dict) else None
    if isinstance(forced, dict) and forced.get("name") in schemas:
        return forced["name"], schemas[forced["name"]]
    return next(iter(schemas.items()), ("undefined_tool", None))


_WRONG_VALUE_FOR_TYPE: dict[str, Any] = {
    "string": 12345,
    "number": "not a number",
    "integer": "not an integer",
    "boolean": "not a boolean",
    "array": "not an array",
    "object": "not an object",
}


def _wrongly_typed_input(schema: Any) -> dict[str, Any]:
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not properties:
        return {"unexpected": "malformed"}
    return {name: _wrong_value(prop) for name, prop in properties.items()}


def _wrong_value(prop: Any) -> Any:
    kind = prop.get("type") if isinstance(prop, dict) else None
    return _WRONG_VALUE_FOR_TYPE.get(kind) if isinstance(kind, str) else None


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _tokens(chars: int) -> int:
    return math.ceil(chars / 4)


def _input_chars(body: dict[str, Any]) -> int:
    tool_config = body.get("toolConfig")
    tools = tool_config.get("tools") if isinstance(tool_config, dict) else None
    parts = (body.get("system"), body.get("messages"), tools)
    return sum(len(_compact(part)) for part in parts if part is not None)


def _output_chars(content: list[dict[str, Any]]) -> int:
    chars = 0
    for block in content:
        if "text" in block:
            chars += len(block["text"])
        if "toolUse" in block:
            chars += len(block["toolUse"]["name"]) + len(_compact(block["toolUse"]["input"]))
    return chars


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m emulator.bedrock_api [--host H] [--port P]`: serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m emulator.bedrock_api",
        description="A local Bedrock Runtime Converse endpoint with scripted replies.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3003)
    args = parser.parse_args(argv)
    print(
        f"Bedrock Runtime emulator on http://{args.host}:{args.port} "
        f"(AWS_ENDPOINT_URL_BEDROCK_RUNTIME=http://{args.host}:{args.port})",
        flush=True,
    )
    web.run_app(create_app(BedrockEmulator()), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
