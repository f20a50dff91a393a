"""Log redaction: no card number or security code survives into any log output."""

from __future__ import annotations

import json
import logging
from urllib.parse import quote_plus, urlencode

import pytest

from bot.cards import contains_pan
from bot.logs import RedactingFormatter, install_redaction, redact

PAN = "4242 4242 4242 4242"


def slack_view_payload(number: str, cvc: str) -> str:
    values = {
        "number": {"number": {"type": "plain_text_input", "value": number}},
        "cvc": {"cvc": {"type": "plain_text_input", "value": cvc}},
    }
    return json.dumps({"type": "view_submission", "view": {"state": {"values": values}}})


@pytest.mark.parametrize(
    "text",
    [
        f"card {PAN}",
        urlencode({"card[number]": PAN, "card[cvc]": "737"}),
        "payload=" + quote_plus(slack_view_payload(PAN, "737")),
        slack_view_payload(PAN, "737"),
        "cvc=737 number=4242424242424242",
        '{"cvc": "737"}',
    ],
)
def test_card_numbers_and_security_codes_are_removed(text: str) -> None:
    cleaned = redact(text)
    assert not contains_pan(cleaned)
    assert "737" not in cleaned


def test_ordinary_text_is_left_alone() -> None:
    assert redact("user U123 paid invoice INV-1001 for $45.00") == (
        "user U123 paid invoice INV-1001 for $45.00"
    )


def test_records_from_any_logger_are_redacted_at_creation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_redaction()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("slack_bolt.App").debug("Incoming event: %s", {"text": PAN})
        logging.getLogger("somewhere").info(f"pasted {PAN}")
    assert caplog.records
    assert not any(contains_pan(r.getMessage()) for r in caplog.records)


def test_stripe_debug_output_is_dropped_entirely(caplog: pytest.LogCaptureFixture) -> None:
    install_redaction()
    with caplog.at_level(logging.DEBUG, logger="stripe"):
        logging.getLogger("stripe").debug("Post details post_data=card[cvc]=737")
    assert "737" not in caplog.text


def test_tracebacks_are_redacted_by_the_formatter() -> None:
    try:
        raise ValueError(f"bad card {PAN}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
        import sys

        record.exc_info = sys.exc_info()
    output = RedactingFormatter().format(record)
    assert "Traceback" in output
    assert not contains_pan(output)
