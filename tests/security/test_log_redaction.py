"""A CVC in any spelling the card form accepts is removed from a log record."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import install_redaction
from tests.security.cardholders import CVC_SPELLINGS
from tests.security.rig import everything_logged
from tests.security.scanner import Scanner

CODES = ("737", "4821")


def modal_state(cvc: str) -> dict[str, object]:
    return {"values": {"cvc": {"cvc": {"type": "plain_text_input", "value": cvc}}}}


@pytest.mark.parametrize("spelling", sorted(CVC_SPELLINGS))
@pytest.mark.parametrize("shown_as", [json.dumps, repr], ids=["json", "repr"])
def test_a_cvc_in_a_logged_card_form_is_removed_however_it_was_typed(
    spelling: str, shown_as: object
) -> None:
    install_redaction()
    with everything_logged() as logs:
        for code in CODES:
            state = modal_state(CVC_SPELLINGS[spelling](code))
            logging.getLogger("handlers.slack.views").debug("state %s", shown_as(state))  # type: ignore[operator]
    assert len(logs.records) == len(CODES)
    findings = Scanner(cvcs=CODES).scan("logs", logs.lines())
    assert not findings, "\n".join(map(str, findings))
