"""Log redaction of text that hides a card number behind escapes or URL encoding."""

from __future__ import annotations

import pytest

from bot.logs import redact

REMOVED = "[card number removed]"


@pytest.mark.parametrize(
    ("logged", "kept"),
    [
        ("card 4242\\u00a04242\\u00a04242\\u00a04242 ok", f"card {REMOVED} ok"),
        ("card 4242\\xa04242\\xa04242\\xa04242 ok", f"card {REMOVED} ok"),
        ("card 4242\\u00A04242\\xa04242\\u00a04242", f"card {REMOVED}"),
        ("{'text': '4242 4242\\n4242 4242'}", f"{{'text': '{REMOVED}'}}"),
        ('{"text": "4242\\t4242\\r\\n4242 4242"}', f'{{"text": "{REMOVED}"}}'),
        # Every digit escaped: JSON's ASCII-only escapes of fullwidth digits, Python's of ASCII.
        ("card " + "\\u2007".join(["\\uff14\\uff12" * 2] * 4) + " ok", f"card {REMOVED} ok"),
        ("card " + " ".join(["\\x34\\x32" * 2] * 4) + " ok", f"card {REMOVED} ok"),
    ],
)
def test_json_and_python_escapes_are_read_before_scanning(logged: str, kept: str) -> None:
    assert redact(logged) == kept


@pytest.mark.parametrize(
    "logged", ["caf\\u00e9 \\x41", "{'text': 'line one\\nline two'}", "a\\\\b \\q \\u12"]
)
def test_escapes_around_no_card_number_are_kept_as_written(logged: str) -> None:
    assert redact(logged) == logged


@pytest.mark.parametrize(
    ("logged", "kept"),
    [
        ("card=4242%204242%204242%204242&x=1", f"card={REMOVED}&x=1"),
        ("card=4242+4242+4242+4242", f"card={REMOVED}"),
        ("note=caf%C3%A9", "note=café"),
    ],
)
def test_url_encoded_text_is_decoded_before_scanning(logged: str, kept: str) -> None:
    assert redact(logged) == kept


@pytest.mark.parametrize(
    ("logged", "kept"),
    [
        ('{"cvc": "737"}', '{"cvc": "[removed]"}'),
        ("cvv=1 2 3", "cvv=[removed]"),
        ("security code: 7\u200b3\u200b7", "security code: [removed]"),
        ("card[cvc]=7373", "card[cvc]=[removed]"),
        ("cvc=12", "cvc=12"),
    ],
)
def test_a_security_code_next_to_its_name_is_removed_and_nothing_else(
    logged: str, kept: str
) -> None:
    assert redact(logged) == kept
