"""`python -m emulator` (what `make run` runs): paybot in a local Slack workspace and a Teams
chat, in a browser.

Starts the Stripe test API emulator (unless `STRIPE_SECRET_KEY` is set: then the bot uses that
key and `STRIPE_API_BASE`), Teams' token issuer and Bot Connector stand-ins with a fresh app id
and password registered, the workspace (page, Slack Web API, and the Teams chat at `/teams`),
and the bot as a child process sharing a fresh signing secret and bot token with the
workspace, and the Teams app's credentials; prints the URL once the bot answers, and stops
everything on Ctrl-C. Teams stays off with a real Stripe account but no
`STRIPE_WEBHOOK_SECRET`: a Teams chat saves cards only on Stripe's page, which only the
webhook confirms.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from emulator.server import RunningServer, serve_in_thread
from emulator.slack_api import SlackWorkspace
from emulator.stack import TeamsStandIns, app_environment, teams_stand_ins
from emulator.stripe_api import StripeEmulator
from emulator.stripe_api import create_app as stripe_app
from emulator.workspace import AppEndpoint
from emulator.workspace import create_app as workspace_app
from emulator.workspace.teams import TeamsEndpoint

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 60.0


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--port", type=int, default=3000, help="the page (default 3000; 0: any)")
    parser.add_argument("--bot-port", type=int, default=3001, help="the bot (default 3001)")
    parser.add_argument("--stripe-port", type=int, default=12111, help="Stripe (default 12111)")
    parser.add_argument(
        "--card-entry",
        choices=("modal", "hosted"),
        default=os.environ.get("CARD_ENTRY") or "modal",
        help="cards typed in the Slack modal, or on Stripe's own page (default: CARD_ENTRY)",
    )
    parser.add_argument(
        "--payment-mode",
        choices=("save", "charge"),
        default=os.environ.get("PAYMENT_MODE") or "save",
        help="save the card, or then charge it on the Pay button (default: PAYMENT_MODE)",
    )
    parser.add_argument(
        "--agent-view",
        choices=("on", "off"),
        default="off" if os.environ.get("SLACK_AGENT_VIEW", "").lower() == "false" else "on",
        help="Slack's agent messaging experience: threads, status, suggested prompts "
        "(default on; off: the classic DM, as SLACK_AGENT_VIEW=false)",
    )
    parser.add_argument(
        "--raw-card-data-disabled",
        action="store_true",
        help="emulate a Stripe account without raw card data APIs",
    )
    return parser.parse_args(argv)


def claim_port(port: int) -> int:
    """`port` if nothing listens on it (0: any free port); OSError naming it if taken."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the bot's server does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise OSError(f"port {port} is in use ({exc.strerror})") from exc
        return int(probe.getsockname()[1])


def bot_environment(
    workspace_url: str,
    secret: str,
    token: str,
    stripe: StripeEmulator | None,
    stripe_url: str | None,
    card_entry: str,
    teams: Mapping[str, str] | None,
    payment_mode: str = "save",
    agent_view: bool = True,
) -> dict[str, str]:
    """The bot's settings: this workspace's credentials, SQLite, the emulated Stripe, and
    `teams` (the Teams app's settings; None: Teams off, whatever the environment says)."""
    engine = "bedrock" if os.environ.get("DIALOGUE_ENGINE") == "bedrock" else "rules"
    environment = {
        **os.environ,
        **app_environment(
            slack_url=workspace_url,
            stripe_url=stripe_url if stripe is not None else None,
            sqlite_path=Path(os.environ.get("SQLITE_PATH") or ROOT / ".paybot" / "sessions.db"),
            token=token,
            signing_secret=secret,
            stripe_key=f"sk_test_{secrets.token_hex(12)}",
            log_level=None,  # the one the bot is run with
            DIALOGUE_ENGINE=engine,
            CARD_ENTRY=card_entry,
            PAYMENT_MODE=payment_mode,
            SLACK_AGENT_VIEW="true" if agent_view else "false",
        ),
    }
    if stripe is not None and stripe_url is not None:
        # The emulated Stripe signs its webhooks with this; the bot verifies them.
        environment["STRIPE_WEBHOOK_SECRET"] = stripe.webhook_secret
    for name in ("TEAMS_APP_ID", "TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID"):
        environment.pop(name, None)  # the registered app is multi-tenant, and ours alone
    return environment | dict(teams or {})


def teams_off_reason(stripe: StripeEmulator | None) -> str | None:
    """Why the bot cannot serve Teams in this run; None when it can."""
    if stripe is not None or os.environ.get("STRIPE_WEBHOOK_SECRET"):
        return None
    return (
        "Teams: off, because STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET "
        "(a Teams chat saves cards only on Stripe's page, which only the webhook confirms)"
    )


def healthy(bot: subprocess.Popen[bytes], port: int) -> bool:
    """Wait until the bot answers `/health`; False if it exits or stays silent too long."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while bot.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False


def stop_bot(bot: subprocess.Popen[bytes]) -> None:
    bot.terminate()
    try:
        bot.wait(timeout=5)
    except subprocess.TimeoutExpired:
        bot.kill()
        bot.wait()


def run(options: argparse.Namespace) -> int:
    """Start everything, print the URL, and serve until the bot exits or a signal arrives."""
    secret, token = secrets.token_hex(32), f"xoxb-{secrets.token_hex(16)}"
    with ExitStack() as running:  # unwinds on Interrupted too: bot first, then the servers
        try:
            bot_port = claim_port(options.bot_port)
            endpoint = AppEndpoint(f"http://127.0.0.1:{bot_port}/slack/events", secret)
            stripe: RunningServer | None = None
            emulator: StripeEmulator | None = None
            if not os.environ.get("STRIPE_SECRET_KEY"):
                emulator = StripeEmulator(
                    raw_card_data=not options.raw_card_data_disabled,
                    webhook_url=f"http://127.0.0.1:{bot_port}/stripe/webhook",
                )
                stripe = running.enter_context(
                    serve_in_thread(stripe_app(emulator), port=options.stripe_port)
                )
            teams_off = teams_off_reason(emulator)
            teams = running.enter_context(teams_stand_ins()) if teams_off is None else None
            messaging = f"http://127.0.0.1:{bot_port}/api/messages"  # the bot's, for Teams
            chat = TeamsEndpoint(messaging, teams.connector, teams.service_url) if teams else None
            slack = SlackWorkspace(token=token)
            page = running.enter_context(
                serve_in_thread(workspace_app(slack, endpoint, teams=chat), port=options.port)
            )
        except OSError as exc:
            print(f"error: cannot listen on 127.0.0.1: {exc}", file=sys.stderr)
            return 1
        bot = subprocess.Popen(  # noqa: S603 - a fixed command: this Python running the bot
            [sys.executable, "-m", "bot", "serve", "--port", str(bot_port)],
            env=bot_environment(
                page.url,
                secret,
                token,
                emulator,
                stripe.url if stripe else None,
                options.card_entry,
                teams.environment() if teams else None,
                options.payment_mode,
                options.agent_view == "on",
            ),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the bot ourselves
        )
        running.callback(stop_bot, bot)
        if not healthy(bot, bot_port):
            print("error: the bot did not start (its error is above)", file=sys.stderr)
            return 1
        print(banner(page.url, stripe, options, teams or teams_off or ""), flush=True)
        # Not bot.wait(): a signal that lands on a server thread would not wake a blocked
        # wait, while a short sleep lets the main thread run its handler soon after.
        while bot.poll() is None:
            time.sleep(0.2)
        print(f"error: the bot stopped (exit code {bot.returncode})", file=sys.stderr)
        return 1


def banner(
    url: str,
    stripe: RunningServer | None,
    options: argparse.Namespace,
    teams: TeamsStandIns | str,
) -> str:
    """What `make run` prints once the bot answers; `teams`: its stand-ins, or why it is off."""
    if stripe is None:
        payments = "Stripe: the account of STRIPE_SECRET_KEY"
    else:
        raw = "disabled" if options.raw_card_data_disabled else "enabled"
        where = "its hosted page" if options.card_entry == "hosted" else "the Slack modal"
        payments = (
            f"Stripe: test API emulator on {stripe.url} (raw card data APIs {raw}); "
            f"cards are entered in {where}"
        )
    if options.payment_mode == "charge":
        payments += "; cards are charged when Pay is pressed"
    chat = teams
    if isinstance(teams, TeamsStandIns):
        chat = (
            f"Teams: a 1:1 chat with paybot at {url}/teams, cards entered on Stripe's page "
            f"(Bot Framework tokens on {teams.login_url}, the Bot Connector on "
            f"{teams.service_url.rstrip('/')})"
        )
    return f"\npaybot is ready. Open\n\n    {url}\n\n{payments}\n{chat}\nPress Ctrl-C to stop.\n"


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""


def interrupt(signum: int, frame: FrameType | None) -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)  # one stop is enough: let the clean-up finish
    raise Interrupted


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        return run(options)
    except Interrupted:
        print("Stopped.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
