"""Taking the payment on Teams (PAYMENT_MODE=charge): Stripe's page, or the card on file
and an Adaptive Card's Pay button; the receipt in the chat once Stripe says paid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.teams.render import ACTION_KEY, CONFIRM_PAY
from tests.integration.teams.harness import TeamsPaybot, actions, running_teams, words
from tests.integration.teams.test_teams_flow import stripe_link
from tests.integration.test_hosted_flow import fill_in_hosted_page

pytestmark = pytest.mark.integration


@pytest.fixture
def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamsPaybot]:
    with running_teams(tmp_path, monkeypatch, PAYMENT_MODE="charge") as running:
        yield running


def paid(teams: TeamsPaybot, amount: str) -> list[str]:
    return [text for text in teams.texts() if f"Paid **{amount}**" in text]


def test_stripes_page_takes_the_payment_and_the_receipt_comes_to_the_chat(
    teams: TeamsPaybot,
) -> None:
    teams.say("pay 45 USD INV-1001")
    teams.wait_for_posts(1)
    assert "pay **$45.00** on Stripe's own page" in teams.texts()[-1]
    fill_in_hosted_page(stripe_link(teams))
    teams.wait_until(lambda: paid(teams, "$45.00") != [])
    assert len(paid(teams, "$45.00")) == 1
    assert "Visa •••• 5556" in paid(teams, "$45.00")[0]  # the card Stripe's page charged


def test_the_card_on_file_is_paid_with_the_cards_pay_button(teams: TeamsPaybot) -> None:
    teams.say("pay")  # no amount yet: Stripe's page saves the card only
    teams.wait_for_posts(1)
    fill_in_hosted_page(stripe_link(teams))
    teams.wait_until(lambda: any("saved" in text for text in teams.texts()))

    teams.say("I need to pay invoice INV-2002, $120")
    teams.wait_until(lambda: any("Pay **$120.00**" in text for text in teams.texts()))
    offer = next(a for a in reversed(teams.posted()) if "Pay **$120.00**" in words(a))
    (pay,) = [a for a in actions(offer) if a.get("data", {}).get(ACTION_KEY) == CONFIRM_PAY]
    assert pay["title"] == "Pay $120.00"
    assert teams.post(teams.message(value=pay["data"])).status == 200
    teams.wait_until(lambda: paid(teams, "$120.00") != [])
    assert "•••• 5556" in paid(teams, "$120.00")[0]
    assert len(teams.stripe.payment_intents) == 1
    # A second press of the same button pays nothing more.
    teams.post(teams.message(value=pay["data"]))
    teams.wait_until(lambda: "already paid" in teams.texts()[-1])
    assert len(teams.stripe.payment_intents) == 1
