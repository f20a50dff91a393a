"""The scanner tells ids from card numbers without losing the card numbers."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tests.security.scanner import Scanner, card_number_like, digit_runs

PAN = "4000056655665556"


def card_number_like_ids(make: Callable[[], str], count: int = 20) -> list[str]:
    """Random ids whose digits read as a card number: about one in 350 of them."""
    found: list[str] = []
    while len(found) < count:
        candidate = make()
        if any(card_number_like(digits) for _, _, digits in digit_runs(candidate)):
            found.append(candidate)
    return found


def test_a_uuid_whose_digits_pass_luhn_is_not_read_as_a_card_number() -> None:
    ids = card_number_like_ids(lambda: str(uuid.uuid4()))
    findings = [f for i in ids for f in Scanner().scan_text("log", f"client_msg_id {i} seen")]
    assert not findings, findings[:3]


def test_a_hex_request_id_whose_digits_pass_luhn_is_not_read_as_a_card_number() -> None:
    ids = card_number_like_ids(lambda: uuid.uuid4().hex)
    findings = [f for i in ids for f in Scanner().scan_text("log", f"'X-Slack-Req-Id': '{i}'")]
    assert not findings, findings[:3]


def test_a_card_number_shaped_like_a_uuid_with_no_letter_is_still_found() -> None:
    text = f"id {PAN[:8]}-{PAN[8:12]}-{PAN[12:]}-0000-000000000000 end"
    assert Scanner().scan_text("log", text)


def test_a_card_number_beside_a_uuid_is_still_found() -> None:
    text = f"id {uuid.uuid4()} card {PAN} end"
    assert [f.value for f in Scanner().scan_text("log", text)] == [PAN]


def test_a_card_number_run_into_a_uuid_is_still_found() -> None:
    text = f"id {PAN}f47ac10b-58cc-4372-a567-0e02b2c3d479 end"
    assert [f.value for f in Scanner().scan_text("log", text)] == [PAN]


def test_a_uuid_followed_by_a_raw_record_byte_is_no_card_number() -> None:
    """In a database file, a key's UUID runs straight into the next record's bytes."""
    tenant = "fc788423-6792-4125-9a9e-c23022efe24f"  # its digits hold a Luhn-valid run
    assert Scanner().scan_text("sqlite bytes", f"turns#teams#{tenant.replace('-', '')}x")
    assert Scanner().scan_text("sqlite bytes", f"turns#teams#{tenant}k\x14") == []
    assert Scanner().scan_text("sqlite bytes", f"card {PAN}k\x14") != []
