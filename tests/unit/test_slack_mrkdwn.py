"""Slack's markup is translated at the edge: the core reads plain text and writes chat markdown."""

from __future__ import annotations

import pytest

from bot.models import Intent
from bot.rules import extract_amount, extract_email, parse
from handlers.slack.copy import HELP
from handlers.slack.mrkdwn import from_mrkdwn, to_mrkdwn


@pytest.mark.parametrize(
    ("slack", "plain"),
    [
        ("<@U0BOT> hi", "  hi"),
        ("see <#C1|general> now", "see   now"),
        ("<!here> pay", "  pay"),
        ("<https://example.com/pay/45.00|link>", " "),
        ("<https://example.com/45>", " "),
        ("receipt to <mailto:ann@example.com|ann@example.com>", "receipt to ann@example.com"),
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("&amp;lt;", "&lt;"),
        (":+1:", "👍"),
        (":+1::skin-tone-3: :white_check_mark:", "👍 ✅"),
        (":unknown_emoji:", ":unknown_emoji:"),
    ],
)
def test_from_mrkdwn_reads_what_the_person_sees(slack: str, plain: str) -> None:
    assert from_mrkdwn(slack) == plain


def test_a_mention_before_a_greeting_is_still_a_greeting() -> None:
    assert parse(from_mrkdwn("<@U0BOT> hi")).intent is Intent.GREET


def test_a_link_never_names_an_amount() -> None:
    assert extract_amount(from_mrkdwn("<https://example.com/pay/45.00|link>")) is None


def test_a_linked_email_is_read_as_the_receipt_email() -> None:
    text = from_mrkdwn("<mailto:ann@example.com|ann@example.com>")
    assert extract_email(text) == "ann@example.com"


def test_a_slack_thumbs_up_confirms() -> None:
    assert parse(from_mrkdwn(":thumbsup:")).intent is Intent.CONFIRM


@pytest.mark.parametrize(
    ("chat", "mrkdwn"),
    [
        ("Paying **$45.00** for invoice **INV-1001**.", "Paying *$45.00* for invoice *INV-1001*."),
        ("Type `pay` to start.", "Type `/pay` to start."),
        ("type `pay forget` again", "type `/pay forget` again"),
        ("`payment` and `pay`ment", "`payment` and `/pay`ment"),
        ("`$45 for invoice INV-1001`", "`$45 for invoice INV-1001`"),
        ("<!channel> & <@U1>", "&lt;!channel&gt; &amp; &lt;@U1&gt;"),
    ],
)
def test_to_mrkdwn_writes_slack_markup(chat: str, mrkdwn: str) -> None:
    assert to_mrkdwn(chat) == mrkdwn


@pytest.mark.parametrize(
    "command",
    ["`/pay`", "`/pay 45 USD INV-1001`", "`/pay status`", "`/pay cancel`", "`/pay forget`"],
)
def test_slack_help_lists_the_commands(command: str) -> None:
    assert command in to_mrkdwn(HELP)
