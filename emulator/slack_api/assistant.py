"""The `assistant.threads.*` methods an app in Slack's agent messaging experience calls.

The stand-in plays an app with `features.agent_view`: its conversations are in the Messages tab
of its DM, where a person's messages are top-level and the app answers in each one's thread.

- assistant.threads.setSuggestedPrompts (https://docs.slack.dev/reference/methods/assistant.threads.setSuggestedPrompts):
  `channel_id` and `prompts` (up to four, each with `title` and `message`), optional `title`.
  For an agent app `thread_ts` "will cause the call to silently fail": Slack answers ok and
  shows nothing; here the call is recorded with a `note` saying so.
- assistant.threads.setStatus (https://docs.slack.dev/reference/methods/assistant.threads.setStatus):
  `channel_id`, `thread_ts` and `status` (an empty one clears it), optional `loading_messages`
  (at most 10). "The status will be automatically cleared when the app sends a reply", and
  after two minutes without one.

The stand-in never sees the person's own messages (Slack delivers them to the app, not to
this API), so a `thread_ts` is checked for its form, not looked up.
"""

from __future__ import annotations

import re
from typing import Any

from emulator.slack_api.models import (
    Args,
    SilentlyIgnored,
    SlackError,
    SlackWorkspace,
    ThreadStatus,
)

MAX_PROMPTS = 4
MAX_LOADING_MESSAGES = 10
_TS = re.compile(r"\d+\.\d+")
IGNORED_THREAD_TS = (
    "thread_ts in an agent app's setSuggestedPrompts: Slack answers ok and shows nothing"
)


def _invalid(message: str, pointer: str | None = None) -> SlackError:
    where = f" [json-pointer:{pointer}]" if pointer else ""
    return SlackError("invalid_arguments", f"[ERROR] {message}{where}")


def _required_string(args: Args, name: str, *, empty_ok: bool = False) -> str:
    value = args.get(name)
    if value is None or (value == "" and not empty_ok):
        raise _invalid(f"missing required field: {name}")
    if not isinstance(value, str):
        raise _invalid("must be a string", f"/{name}")
    return value


def _optional_string(args: Args, name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _invalid("must be a string", f"/{name}")
    return value


def _channel(ws: SlackWorkspace, args: Args) -> str:
    channel_id = _required_string(args, "channel_id")
    if channel_id not in ws._channels:
        raise SlackError("channel_not_found")
    return channel_id


def _thread_ts(args: Args) -> str:
    thread_ts = _required_string(args, "thread_ts")
    if not _TS.fullmatch(thread_ts):
        raise SlackError("invalid_thread_ts")
    return thread_ts


def _prompts(args: Args) -> list[dict[str, str]]:
    prompts = args.get("prompts")
    if prompts is None or prompts == "":
        raise _invalid("missing required field: prompts")
    if not isinstance(prompts, list):
        raise _invalid("must provide an array", "/prompts")
    if not prompts:
        raise _invalid("must provide at least 1 item", "/prompts")
    if len(prompts) > MAX_PROMPTS:
        raise _invalid(f"no more than {MAX_PROMPTS} items allowed", "/prompts")
    checked = []
    for index, prompt in enumerate(prompts):
        pointer = f"/prompts/{index}"
        if not isinstance(prompt, dict):
            raise _invalid("must provide an object", pointer)
        for name in ("title", "message"):
            if prompt.get(name) in (None, ""):
                raise _invalid(f"missing required field: {name}", pointer)
            if not isinstance(prompt[name], str):
                raise _invalid("must be a string", f"{pointer}/{name}")
        checked.append({"title": prompt["title"], "message": prompt["message"]})
    return checked


def _loading_messages(args: Args) -> tuple[str, ...]:
    messages = args.get("loading_messages")
    if messages is None or messages == "":
        return ()
    if not isinstance(messages, list):
        raise _invalid("must provide an array", "/loading_messages")
    if len(messages) > MAX_LOADING_MESSAGES:
        raise _invalid(f"no more than {MAX_LOADING_MESSAGES} items allowed", "/loading_messages")
    for index, message in enumerate(messages):
        if not isinstance(message, str) or not message:
            raise _invalid("must be a non-empty string", f"/loading_messages/{index}")
    return tuple(messages)


def set_suggested_prompts(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = _channel(ws, args)
    prompts = _prompts(args)
    title = _optional_string(args, "title")
    if args.get("thread_ts") not in (None, ""):
        raise SilentlyIgnored(IGNORED_THREAD_TS)
    ws._prompts[channel_id] = {"title": title, "prompts": prompts}
    return {}


def set_status(ws: SlackWorkspace, args: Args) -> dict[str, Any]:
    channel_id = _channel(ws, args)
    thread_ts = _thread_ts(args)
    status = _required_string(args, "status", empty_ok=True)
    loading_messages = _loading_messages(args)
    for name in ("icon_emoji", "icon_url", "username"):
        _optional_string(args, name)
    if status:
        ws._statuses[(channel_id, thread_ts)] = ThreadStatus(
            status, loading_messages, set_at=ws._clock()
        )
    else:
        ws._statuses.pop((channel_id, thread_ts), None)
    return {}
