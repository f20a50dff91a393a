"""The Teams chat of `make run` in a real browser: a payment through it, masking, card drawing.

The flows start `python -m emulator` as the Slack browser tests do (`product`) and open its
`/teams` page: what the person types there goes to the bot's `/api/messages` as Teams sends
it, and what the bot posts reaches the page through the Bot Connector stand-in. With
`PAYBOT_UPDATE_DOCS=1` the README's Teams screenshot in `docs/` is written too.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from emulator.server import serve_in_thread
from emulator.slack_api import SlackWorkspace
from emulator.stack import TeamsStandIns, teams_stand_ins
from emulator.teams_connector import ACTIVITIES_PATH, ADAPTIVE_CARD
from emulator.teams_tokens import MULTI_TENANT
from emulator.workspace import AppEndpoint, create_app
from emulator.workspace.teams import TeamsEndpoint
from tests.e2e.test_browser_flow import browser, product, snapshot

__all__ = ["browser", "product"]  # fixtures, shared with the Slack browser tests

CARD_NUMBER = "4242 4242 4242 4242"
PASTED = "4000 0566 5566 5556"  # a Visa debit test card the side panel does not list


@pytest.fixture
def teams(browser: Browser, product: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """The Teams chat of `python -m emulator`, connected to its event stream."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.goto(f"{product}/teams")
    expect(opened.locator("#connection")).to_have_text("connected")
    expect(opened.get_by_test_id("teams-composer")).to_be_enabled()
    yield opened
    snapshot(opened, f"{request.node.name}-end")
    context.close()


def send(page: Page, text: str) -> None:
    composer = page.get_by_test_id("teams-composer")
    composer.fill(text)
    composer.press("Enter")


def never_unmasked(page: Page, number: str) -> None:
    """`number` is neither in the chat nor in the inspector: not as text, nor in the markup."""
    for shown in (page.get_by_role("main"), page.get_by_test_id("inspector")):
        expect(shown).not_to_contain_text(number)
        expect(shown).not_to_contain_text(number.replace(" ", ""))
        assert number.replace(" ", "") not in shown.inner_html().replace(" ", "")


def test_a_person_saves_a_card_from_the_teams_chat(teams: Page) -> None:
    messages = teams.get_by_test_id("teams-message")
    teams.evaluate("window.stillThisPage = true")  # gone if the page reloads
    send(teams, "I need to pay invoice INV-1001, $45")
    expect(messages.first).to_contain_text("I need to pay invoice INV-1001, $45")
    offer = messages.filter(has=teams.get_by_test_id("adaptive-card")).last
    expect(offer).to_contain_text("INV-1001")
    offer.get_by_test_id("ac-action").filter(has_text="Pay with card").click()

    link = teams.get_by_role("link", name="Enter card on Stripe")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener")
    expect(messages.last).to_contain_text("$45.00")
    snapshot(teams, "teams-checkout-link")
    with teams.context.expect_page() as opened:
        link.click()
    stripe_page = opened.value
    stripe_page.get_by_label("Card number").fill(CARD_NUMBER)
    stripe_page.get_by_label("Expiry (MM/YY)").fill("12/30")
    stripe_page.get_by_label("CVC").fill("123")
    stripe_page.get_by_label("Cardholder name").fill("Pat Payer")
    stripe_page.get_by_test_id("checkout-submit").click()
    expect(stripe_page.get_by_role("link", name="Back to Teams")).to_be_visible()
    stripe_page.close()

    expect(messages.last).to_contain_text("Visa •••• 4242 saved (expires 12/2030)")
    expect(messages.last.locator("code")).to_contain_text("pm_")
    assert teams.evaluate("window.stillThisPage") is True  # pushed over SSE, not reloaded
    expect(teams.get_by_test_id("inspector")).to_contain_text("Teams: card action")
    never_unmasked(teams, CARD_NUMBER)
    snapshot(teams, "teams-confirmation", doc="teams-chat.png")


def test_a_card_number_typed_in_the_teams_chat_is_never_shown_unmasked(teams: Page) -> None:
    messages = teams.get_by_test_id("teams-message")
    send(teams, f"my card is {PASTED} exp 12/30")

    expect(messages.first).to_contain_text("my card is •••• 5556 exp 12/30")
    expect(messages.nth(1)).to_contain_text("Please don't paste card numbers")
    expect(teams.get_by_test_id("inspector")).to_contain_text("Teams: message")
    never_unmasked(teams, PASTED)

    teams.reload()  # the snapshot a new page starts from is masked as well
    expect(messages.first).to_contain_text("my card is •••• 5556")
    never_unmasked(teams, PASTED)
    state = teams.request.get(teams.url.replace("/teams", "/_workspace/state")).text()
    assert PASTED.replace(" ", "") not in state.replace(" ", "")
    assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.", state), "a bearer token reached the page"


def test_the_switch_moves_between_the_slack_dm_and_the_teams_chat(teams: Page) -> None:
    teams.get_by_test_id("surface-slack").click()
    expect(teams.get_by_test_id("composer")).to_be_visible()
    expect(teams.get_by_test_id("teams-composer")).to_be_hidden()
    assert urllib.parse.urlsplit(teams.url).path == "/"

    teams.go_back()
    expect(teams.get_by_test_id("teams-composer")).to_be_visible()
    expect(teams).to_have_title("paybot · local Teams chat")


CARD: dict[str, Any] = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [
        {"type": "TextBlock", "text": "Invoice INV-1001", "weight": "Bolder", "size": "Medium"},
        {
            "type": "TextBlock",
            "text": "**Due** today: `$45.00`\nSee \\[the invoice\\](https://example.com) <b>\n\n"
            "- one\n- two",
            "wrap": True,
        },
        {"type": "Image", "url": "https://example.com/logo.png"},
    ],
    "actions": [
        {"type": "Action.OpenUrl", "title": "Open", "url": "https://example.com/pay"},
        {"type": "Action.Submit", "title": "Pay with card", "data": {"paybot": "pay"}},
    ],
}


def test_adaptive_cards_are_drawn_as_teams_draws_them(browser: Browser) -> None:
    # The workspace and the Teams stand-ins alone, in-process: the bot posts to the connector.
    with teams_stand_ins() as stand_ins:
        nowhere = AppEndpoint("http://127.0.0.1:9/slack/events", "unused")
        chat = TeamsEndpoint("http://127.0.0.1:9/api/messages", stand_ins.connector, "x")
        app = create_app(SlackWorkspace(), nowhere, teams=chat)
        with serve_in_thread(app) as server:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(f"{server.url}/teams")
            expect(page.locator("#connection")).to_have_text("connected")
            (person,) = stand_ins.connector.conversations
            post_as_bot(stand_ins, person.conversation_id, {"text": "Hi &lt;b&gt; **there**"})
            attachment = {"contentType": ADAPTIVE_CARD, "content": CARD}
            post_as_bot(stand_ins, person.conversation_id, {"attachments": [attachment]})

            greeting, card = page.get_by_test_id("teams-message").all()
            expect(greeting).to_contain_text("Hi <b> there")
            expect(greeting.locator("strong")).to_have_text("there")
            expect(card.locator(".ac-textblock").first).to_have_class(
                "ac-textblock ac-size-medium ac-bolder"
            )
            expect(card.locator("strong")).to_have_text("Due")
            expect(card.locator("code")).to_have_text("$45.00")
            expect(card.locator("br")).to_have_count(1)
            expect(card).to_contain_text("See [the invoice](https://example.com) <b>")
            expect(card.locator("li")).to_have_text(["one", "two"])
            for markup in ("b", "img"):
                expect(card.locator(markup)).to_have_count(0)
            expect(card.get_by_test_id("unsupported")).to_have_text(
                "Unsupported card element: Image"
            )
            expect(card.get_by_role("link", name="Open")).to_have_attribute(
                "href", "https://example.com/pay"
            )
            expect(card.get_by_role("button", name="Pay with card")).to_be_enabled()
            snapshot(page, "teams-cards")
            context.close()


def test_the_teams_chat_says_when_teams_is_off(browser: Browser) -> None:
    nowhere = AppEndpoint("http://127.0.0.1:9/slack/events", "unused")
    with serve_in_thread(create_app(SlackWorkspace(), nowhere)) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(f"{server.url}/teams")
        expect(page.locator("#connection")).to_have_text("connected")

        expect(page.get_by_role("main")).to_contain_text("Teams is off in this run")
        expect(page.get_by_test_id("teams-composer")).to_be_disabled()
        context.close()


def post_as_bot(stand_ins: TeamsStandIns, conversation_id: str, activity: dict[str, Any]) -> None:
    """POST a message to the connector as the bot does, with a token Entra issued it."""
    app = stand_ins.tokens.app(stand_ins.app_id)
    assert app is not None
    token = stand_ins.tokens.issue_access_token(app, MULTI_TENANT)
    path = ACTIVITIES_PATH.format(conversationId=urllib.parse.quote(conversation_id))
    request = urllib.request.Request(
        stand_ins.service_url.rstrip("/") + path,
        data=json.dumps({"type": "message", **activity}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201
