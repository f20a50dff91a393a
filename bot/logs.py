"""Logging that cannot leak card data: installed before anything else logs.

Every log record from every logger (ours, Bolt's, botocore's, stripe's) is
redacted at creation, through the record factory, so no handler or formatter
configured later can see a card number. Formatted output (tracebacks
included) is redacted again by `RedactingFormatter`.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote_plus

from bot.cards import redact_pans

# A security code next to its field name, as JSON, form or logfmt would show it,
# or as the value of the card modal's `cvc` input inside a Slack payload; its digits
# spaced as the card form accepts them ("1 23", zero-width characters between).
_CVC_FIELD = re.compile(
    r"(?i)(cvc|cvv|cvc2|security[ _]?code|card\[cvc\])"
    r"([\"']?\s*[:=]\s*[\"']?\s*|[^0-9]{0,80}?[\"']value[\"']\s*:\s*[\"']\s*)"
    r"(\d(?:[\s\u200b\u200c\u200d\u2060\ufeff\u00ad]*\d){2,3})"
)
_URL_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}|\+")
# JSON's escapes, the `\xa0` a Python repr writes, and the `\n`, `\t`, `\r` both write:
# any of them could space a number's digits. The blanks are read as spaces.
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})|\\([ntr])")
# Loggers that print whole bodies at DEBUG: stripe logs the raw form it posts (card
# number, CVC, expiry and cardholder name, which no pattern can recognise), botocore
# every request and response (the conversation, secret values), slack_sdk and Bolt every
# message and response (the confirmation, with the card's expiry), the Teams SDK every
# activity it receives (a person's text). Silenced, not redacted.
_QUIET_AT_DEBUG = (
    "stripe",
    "botocore.parsers",
    "botocore.endpoint",
    "slack_sdk.web",
    "slack_bolt",
    "microsoft_teams",
)
# Bolt's adapter loggers ("<app>:SlackRequestHandler") print the whole raw event at DEBUG,
# message text included: a number typed in two halves, or a CVC alone, is not a card
# number the redaction can recognise in one record.
_QUIET_ADAPTERS_AT_DEBUG = (":SlackRequestHandler",)
_SDK_LOGGERS = (
    "slack_bolt",
    "slack_sdk",
    "botocore",
    "boto3",
    "urllib3",
    "stripe",
    "aiohttp",
    "microsoft_teams",
    "httpx",
    "httpcore",
)

_installed = False


def redact(text: str) -> str:
    """`text` without card numbers or security codes.

    URL-encoded text (a raw form body) is decoded first: "%20" between digit
    groups would otherwise hide a card number from the scanner.
    """
    if _URL_ENCODED.search(text):
        text = unquote_plus(text)
    if "\\" in text:  # "4242\\u00a04242..." hides a number from the scanner
        decoded = _ESCAPE.sub(_unescape, text)
        if decoded != text:
            redacted = _scrub(decoded)
            # Nothing found once decoded: the text stays as it was written.
            return redacted if redacted != decoded else _scrub(text)
    return _scrub(text)


def _unescape(match: re.Match[str]) -> str:
    code = match[1] or match[2]
    return chr(int(code, 16)) if code else " "


def _scrub(text: str) -> str:
    return _CVC_FIELD.sub(r"\1\2[removed]", redact_pans(text))


def install_redaction() -> None:
    """Redact every log record at creation; idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        quiet = record.name.startswith(_QUIET_AT_DEBUG) or record.name.endswith(
            _QUIET_ADAPTERS_AT_DEBUG
        )
        if quiet and record.levelno <= logging.DEBUG:
            record.msg, record.args = "[debug output removed]", None
            return record
        # Format once, then redact the final text: safer than redacting the
        # format string and its arguments apart (decoding could break placeholders).
        try:
            message = record.getMessage()
        except Exception:  # a caller's bad format string: keep what it said, redacted
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output, tracebacks included, is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    """Root logging for the app: redaction first; SDK loggers say only warnings and errors."""
    install_redaction()
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _SDK_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.getLevelName(level), logging.WARNING))
