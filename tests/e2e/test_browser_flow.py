"""The whole product in a real browser, started exactly as `make run` starts it.

Each test runs `python -m emulator` on free loopback ports and drives the page with
Playwright and Debian's Chromium. Screenshots go to `test-artifacts/` on every run; with
`PAYBOT_UPDATE_DOCS=1` the README's screenshots in `docs/` are written too.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from slack_sdk import WebClient

from emulator.server import serve_in_thread
from emulator.slack_api import DEFAULT_USER_ID, SlackWorkspace
from emulator.workspace import AppEndpoint, create_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
STARTUP_SECONDS = 60


MISSING_CHROMIUM = (
    f"Chromium is missing at {CHROMIUM}: the browser tests drive Debian's package. "
    "Install it with `apt-get install -y chromium` (never `playwright install`)."
)


def test_chromium_is_installed_for_the_browser_tests() -> None:
    assert CHROMIUM.exists(), MISSING_CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(MISSING_CHROMIUM)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def product(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """`python -m emulator` (what `make run` runs) on free ports; its printed URL.

    Parametrize indirectly with extra command-line flags, e.g. `["--card-entry", "hosted"]`.
    """
    flags: list[str] = list(getattr(request, "param", []))
    environment = {**os.environ, "SQLITE_PATH": str(tmp_path / "sessions.db")}
    for variable in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "DIALOGUE_ENGINE", "CARD_ENTRY"):
        environment.pop(variable, None)
    log = (tmp_path / "emulator.log").open("w")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "emulator"),
            *("--port", "0", "--bot-port", "0", "--stripe-port", "0"),
            *flags,
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        yield printed_url(process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0, "python -m emulator did not stop cleanly"
    finally:
        if process.poll() is None:  # a failed test: stop it as Ctrl-C would, so the bot stops too
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()
    assert "Traceback" not in (tmp_path / "emulator.log").read_text()


def printed_url(process: subprocess.Popen[str]) -> str:
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=STARTUP_SECONDS)
        except queue.Empty:
            raise AssertionError("python -m emulator printed no URL in time") from None
        if line is None:
            raise AssertionError("python -m emulator exited before printing its URL")
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found:
            return found.group()


@pytest.fixture
def page(browser: Browser, product: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.goto(product)
    expect(opened.locator("#connection")).to_have_text("connected")
    yield opened
    snapshot(opened, f"{request.node.name}-end")
    context.close()


def snapshot(page: Page, name: str, *, doc: str | None = None) -> None:
    """A screenshot in test-artifacts/; also docs/`doc` when PAYBOT_UPDATE_DOCS=1."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)  # no hover highlight in the picture
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    if doc and os.environ.get("PAYBOT_UPDATE_DOCS") == "1":
        page.screenshot(path=str(DOCS / doc))


def send(page: Page, text: str) -> None:
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")


def test_a_person_saves_a_card_from_the_dm(page: Page) -> None:
    messages = page.get_by_test_id("message")
    send(page, "hi")
    expect(messages).to_have_count(2)
    expect(messages.last.locator(".sender")).to_have_text("paybot")

    send(page, "pay invoice INV-1001 $45")
    expect(messages).to_have_count(4)
    expect(messages.last).to_contain_text("INV-1001")
    messages.last.get_by_test_id("button").filter(has_text="Enter card securely").click()

    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    modal.get_by_label("Cardholder name").fill("Pat Payer")
    modal.get_by_label("Card number").fill("4242 4242 4242 4241")
    modal.get_by_label("Expiry (MM/YY)").fill("08/30")
    modal.get_by_label("CVC").fill("123")
    modal.get_by_test_id("modal-submit").click()
    expect(modal.get_by_test_id("field-error")).to_have_count(1)
    expect(modal.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    snapshot(page, "card-form-inline-error", doc="modal.png")

    modal.get_by_label("Card number").fill("4242 4242 4242 4242")
    modal.get_by_test_id("modal-submit").click()
    expect(modal.get_by_label("Card number")).to_have_count(0)  # the form is gone
    expect(modal).to_contain_text("4242")
    snapshot(page, "card-saved")

    page.get_by_test_id("modal-close").click()
    expect(modal).to_have_count(0)
    expect(messages.last).to_contain_text("4242")
    for shown in (page.get_by_role("main"), page.get_by_test_id("inspector")):
        expect(shown).not_to_contain_text("4242 4242 4242 4242")
    snapshot(page, "dm-confirmation", doc="dm.png")


@pytest.mark.parametrize("product", [["--card-entry", "hosted"]], indirect=True)
def test_a_person_saves_a_card_on_stripes_own_page(page: Page) -> None:
    messages = page.get_by_test_id("message")
    send(page, "/pay 45 USD INV-1001")
    offer = messages.filter(has_text="Stripe's own page")
    expect(offer).to_have_count(1)
    expect(messages.filter(has_text="sent you a secure link")).to_have_count(1)
    link = offer.get_by_test_id("button").filter(has_text="Enter card on Stripe")
    snapshot(page, "checkout-link")

    with page.context.expect_page() as opened:
        link.click()
    stripe_page = opened.value
    stripe_page.get_by_label("Card number").fill("4242 4242 4242 4242")
    stripe_page.get_by_label("Expiry (MM/YY)").fill("08/30")
    stripe_page.get_by_label("CVC").fill("123")
    stripe_page.get_by_label("Cardholder name").fill("Pat Payer")
    stripe_page.get_by_test_id("checkout-submit").click()
    expect(stripe_page.get_by_role("link", name="Back to Slack")).to_be_visible()
    snapshot(stripe_page, "checkout-returned")
    stripe_page.close()

    expect(messages.last).to_contain_text("Visa •••• 4242 saved")
    for shown in (page.get_by_role("main"), page.get_by_test_id("inspector")):
        expect(shown).not_to_contain_text("4242 4242 4242 4242")


@pytest.mark.parametrize("product", [["--payment-mode", "charge"]], indirect=True)
def test_a_person_pays_an_invoice_with_the_pay_button(page: Page) -> None:
    messages = page.get_by_test_id("message")
    send(page, "pay invoice INV-1001 $45")
    expect(messages).to_have_count(2)
    messages.last.get_by_test_id("button").filter(has_text="Enter card securely").click()
    modal = page.get_by_test_id("modal")
    modal.get_by_label("Cardholder name").fill("Pat Payer")
    modal.get_by_label("Card number").fill("4242 4242 4242 4242")
    modal.get_by_label("Expiry (MM/YY)").fill("08/30")
    modal.get_by_label("CVC").fill("123")
    modal.get_by_test_id("modal-submit").click()
    expect(modal.get_by_label("Card number")).to_have_count(0)
    page.get_by_test_id("modal-close").click()

    offer = messages.filter(has_text="for invoice INV-1001 with Visa •••• 4242?")
    expect(offer).to_have_count(1)
    pay = offer.get_by_test_id("button").filter(has_text="Pay $45.00")
    expect(pay).to_have_count(1)
    pay.click()
    receipt = messages.filter(has_text="Payment received")
    expect(receipt).to_have_count(1)
    expect(receipt).to_contain_text("$45.00")
    expect(receipt).to_contain_text("Visa •••• 4242")
    expect(receipt).to_contain_text("pi_")
    expect(offer.get_by_test_id("button")).to_have_count(0)  # the offer can't be pressed again
    for shown in (page.get_by_role("main"), page.get_by_test_id("inspector")):
        expect(shown).not_to_contain_text("4242 4242 4242 4242")
    snapshot(page, "charge-receipt", doc="charge.png")


def test_pay_typed_in_the_composer_opens_the_card_form(page: Page) -> None:
    send(page, "/pay")

    modal = page.get_by_test_id("modal")
    expect(modal).to_be_visible()
    expect(modal.get_by_label("Card number")).to_be_visible()
    expect(page.get_by_test_id("inspector")).to_contain_text("views.open")


def test_message_text_is_shown_as_text_never_as_html(page: Page) -> None:
    send(page, "<img src=x onerror=alert(1)> *bold* & _italic_")

    mine = page.get_by_test_id("message").first
    expect(mine).to_contain_text("<img src=x onerror=alert(1)> bold & italic")
    expect(mine.locator("img")).to_have_count(0)
    expect(mine.locator("b")).to_have_text("bold")
    expect(mine.locator("i")).to_have_text("italic")


BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Invoice INV-1001"}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*Due* _today_: `$45.00`\nSee <https://example.com/inv|the invoice> &lt;b&gt;",
        },
    },
    {"type": "divider"},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Sent by <@U0EMUPAYER>"}]},
    {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Pay"}, "style": "primary"},
            {"type": "button", "text": {"type": "plain_text", "text": "No"}, "style": "danger"},
        ],
    },
    {"type": "markdown", "text": "**Pay** by Friday"},  # valid Block Kit the page does not draw
]


def test_block_kit_is_drawn_as_slack_draws_it(browser: Browser) -> None:
    # The workspace alone, in-process: an app posts through the Web API, the page draws it.
    slack = SlackWorkspace()
    nowhere = AppEndpoint("http://127.0.0.1:9/slack/events", "unused")
    with serve_in_thread(create_app(slack, nowhere)) as server:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(server.url)
        expect(page.locator("#connection")).to_have_text("connected")
        app = WebClient(token=slack.token, base_url=f"{server.url}/api/")

        app.chat_postMessage(channel=DEFAULT_USER_ID, text="Invoice", blocks=BLOCKS)

        message = page.get_by_test_id("message")
        expect(message.locator(".bk-header")).to_have_text("Invoice INV-1001")
        expect(message.locator("b")).to_have_text("Due")
        expect(message.locator("i")).to_have_text("today")
        expect(message.locator("code")).to_have_text("$45.00")
        expect(message.locator("br")).to_have_count(1)
        link = message.get_by_role("link", name="the invoice")
        expect(link).to_have_attribute("href", "https://example.com/inv")
        expect(message).to_contain_text("<b>")
        expect(message.locator("hr")).to_have_count(1)
        expect(message.locator(".bk-context")).to_have_text("Sent by @pat")
        buttons = message.get_by_test_id("button")
        expect(buttons.nth(0)).to_have_class("bk-button primary")
        expect(buttons.nth(1)).to_have_class("bk-button danger")
        expect(message.get_by_test_id("unsupported")).to_have_text("Unsupported block: markdown")
        snapshot(page, "block-kit")
        context.close()


def save_card_with_pay(page: Page) -> None:
    """`/pay`, then a good card typed into the modal, which is then closed."""
    send(page, "/pay 45 USD INV-1001")
    modal = page.get_by_test_id("modal")
    modal.get_by_label("Cardholder name").fill("Pat Payer")
    modal.get_by_label("Card number").fill("4242 4242 4242 4242")
    modal.get_by_label("Expiry (MM/YY)").fill("08/30")
    modal.get_by_label("CVC").fill("123")
    modal.get_by_test_id("modal-submit").click()
    expect(modal.get_by_label("Card number")).to_have_count(0)
    page.get_by_test_id("modal-close").click()


def test_the_messages_tab_suggests_prompts_and_answers_in_the_thread(page: Page) -> None:
    prompts = page.get_by_test_id("prompt")
    expect(prompts).to_have_count(3)
    expect(prompts).to_have_text(
        ["Pay an invoice", "What card do you have on file?", "Forget my details"]
    )
    snapshot(page, "agent-prompts")
    prompts.first.click()
    messages = page.get_by_test_id("message")
    expect(messages.first).to_contain_text("I'd like to pay an invoice")
    thread = page.get_by_test_id("thread")
    expect(thread).to_have_count(1)
    expect(thread.get_by_test_id("button").filter(has_text="Enter card securely")).to_be_visible()
    expect(page.get_by_test_id("thread-status")).to_have_count(0)  # cleared by the reply
    snapshot(page, "agent-thread", doc="agent.png")


@pytest.mark.parametrize("product", [["--card-entry", "hosted"]], indirect=True)
def test_the_status_line_shows_while_stripe_is_asked(page: Page) -> None:
    send(page, "pay invoice INV-2002 $120")
    link = page.get_by_test_id("button").filter(has_text="Enter card on Stripe")
    expect(link).to_have_count(1)
    with urllib.request.urlopen(page.url.rstrip("/") + "/_workspace/state", timeout=10) as got:
        state = got.read().decode()
    stripe = re.search(r'"url": "(http://127\.0\.0\.1:\d+)/', state)  # the page's server
    assert stripe is not None
    slow = {"delay": 2.0, "count": 1, "path": "/v1/checkout/sessions"}
    request = urllib.request.Request(
        f"{stripe.group(1)}/_emulator/faults",
        data=json.dumps(slow).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    send(page, "sorry, it is invoice INV-2003 for $130")
    status = page.get_by_test_id("thread-status")
    expect(status).to_contain_text("paybot is working on it")
    snapshot(page, "agent-status", doc="status.png")
    expect(status).to_have_count(0, timeout=10_000)  # the answer came, and cleared it
    expect(page.get_by_test_id("message").filter(has_text="INV-2003")).not_to_have_count(0)


def test_the_home_tab_shows_the_card_on_file(page: Page) -> None:
    save_card_with_pay(page)
    page.get_by_test_id("tab-home").click()
    home = page.get_by_test_id("home")
    expect(home).to_contain_text("Visa •••• 4242, expires 08/2030")
    expect(home.get_by_test_id("button")).to_have_text(
        ["Pay an invoice", "Replace card", "Forget me"]
    )
    expect(home).not_to_contain_text("4242 4242")
    snapshot(page, "home-tab", doc="home.png")
    home.get_by_test_id("button").filter(has_text="Replace card").click()
    expect(page.get_by_test_id("modal")).to_be_visible()


def test_a_finished_offer_is_closed_in_place_with_the_modal(page: Page) -> None:
    messages = page.get_by_test_id("message")
    send(page, "pay invoice INV-2002 $120")
    offer = messages.filter(has_text="INV-2002").last
    offer.get_by_test_id("button").filter(has_text="Enter card securely").click()
    modal = page.get_by_test_id("modal")
    modal.get_by_label("Cardholder name").fill("Pat Payer")
    modal.get_by_label("Card number").fill("4242 4242 4242 4242")
    modal.get_by_label("Expiry (MM/YY)").fill("08/30")
    modal.get_by_label("CVC").fill("123")
    modal.get_by_test_id("modal-submit").click()
    expect(modal.get_by_label("Card number")).to_have_count(0)
    page.get_by_test_id("modal-close").click()
    closed = messages.filter(has_text="Card entry closed: your card is saved")
    expect(closed).to_have_count(1)
    expect(closed.get_by_test_id("button")).to_have_count(0)
    expect(messages.filter(has_text="Visa •••• 4242 saved")).to_have_count(1)
    snapshot(page, "offer-closed")


@pytest.mark.parametrize("product", [["--card-entry", "hosted"]], indirect=True)
def test_the_hosted_offer_is_one_step_and_closes_in_place(page: Page) -> None:
    messages = page.get_by_test_id("message")
    send(page, "pay invoice INV-2002 $120")
    link = page.get_by_test_id("button").filter(has_text="Enter card on Stripe")
    expect(link).to_have_count(1)
    expect(page.get_by_test_id("button").filter(has_text="Enter card securely")).to_have_count(0)
    with page.context.expect_page() as opened:
        link.click()
    stripe_page = opened.value
    stripe_page.get_by_label("Card number").fill("4242 4242 4242 4242")
    stripe_page.get_by_label("Expiry (MM/YY)").fill("08/30")
    stripe_page.get_by_label("CVC").fill("123")
    stripe_page.get_by_label("Cardholder name").fill("Pat Payer")
    stripe_page.get_by_test_id("checkout-submit").click()
    expect(stripe_page.get_by_role("link", name="Back to Slack")).to_be_visible()
    stripe_page.close()
    expect(messages.filter(has_text="Visa •••• 4242 saved")).to_have_count(1)
    closed = messages.filter(has_text="Card entry closed: your card is saved")
    expect(closed).to_have_count(1)
    expect(closed.get_by_test_id("button")).to_have_count(0)
    expect(page.get_by_test_id("button").filter(has_text="Enter card on Stripe")).to_have_count(0)
