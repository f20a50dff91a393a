"""Command line: `python -m bot serve | doctor | sessions … | audit export | teams package`."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence

from bot.errors import PaybotError
from bot.logs import configure_logging
from bot.settings import Settings, load_settings


def serve_command(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the Bolt app on 127.0.0.1 until interrupted."""
    from handlers.bootstrap import build
    from handlers.server import make

    wiring = build(settings)
    server = make(wiring, host="127.0.0.1", port=args.port)
    base = f"http://127.0.0.1:{server.server_port}"
    if wiring.app is not None:
        print(f"paybot listening on {base}/slack/events", flush=True)
    if wiring.teams is not None:
        print(f"paybot listening on {base}/api/messages (Teams)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def create_table_command(args: argparse.Namespace, settings: Settings) -> int:
    """Create the DynamoDB sessions table wherever boto3's endpoint settings point."""
    import boto3
    from botocore.exceptions import BotoCoreError

    from bot.adapters.dynamodb_store import create_table

    table = settings.SESSIONS_TABLE
    try:
        client = boto3.client("dynamodb")
    except BotoCoreError as exc:
        raise PaybotError(f"cannot set up a DynamoDB client: {exc}") from exc
    if create_table(client, table):
        print(f"Created table {table}.")
    else:
        print(f"Table {table} already exists.")
    return 0


def purge_expired_command(args: argparse.Namespace, settings: Settings) -> int:
    """Delete sessions past `expires_at` from the configured store."""
    from handlers.bootstrap import build_stores

    try:
        store, _, _ = build_stores(settings)
    except Exception as exc:  # boto3 set-up errors vary; report one line, not a traceback
        raise PaybotError(f"cannot open the {settings.SESSION_STORE} store: {exc}") from exc
    print(f"Deleted {store.purge_expired()} expired sessions.")
    return 0


def audit_export_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print the payment audit trail as JSON lines; see `handlers.audit.export_command`."""
    from handlers.audit import export_command

    return export_command(args, settings)


def doctor_command(args: argparse.Namespace) -> int:
    """Check the deployment's settings against the real providers; 1 if anything would fail."""
    from handlers.doctor import run

    return run(os.environ, sys.stdout)


_APP_ID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def teams_package_command(args: argparse.Namespace) -> int:
    """Write the Teams app zip; needs only the app id and the three public pages."""
    from handlers.teams.package import manifest, package

    app_id = args.app_id or os.environ.get("TEAMS_APP_ID", "")
    if not _APP_ID.match(app_id):
        raise PaybotError("--app-id (or TEAMS_APP_ID) must be the bot's Microsoft App ID, a GUID")
    website = args.website_url or os.environ.get("PUBLIC_URL", "")
    pages = {
        "--website-url": website,
        "--privacy-url": args.privacy_url or website,
        "--terms-url": args.terms_url or website,
    }
    for option, url in pages.items():
        if not url.startswith("https://"):
            raise PaybotError(f"{option} must be an https:// URL (it defaults to PUBLIC_URL)")
    document = manifest(
        app_id,
        website_url=pages["--website-url"],
        privacy_url=pages["--privacy-url"],
        terms_url=pages["--terms-url"],
    )
    try:
        with open(args.output, "wb") as out:
            out.write(package(document))
    except OSError as exc:
        raise PaybotError(f"cannot write {args.output}: {exc.strerror}") from None
    print(f"Wrote {args.output}: upload it in Teams (Apps, Manage your apps, Upload an app).")
    return 0


Command = Callable[[argparse.Namespace, Settings], int]

COMMANDS: dict[str, Command] = {
    "serve": serve_command,
    "sessions create-table": create_table_command,
    "sessions purge-expired": purge_expired_command,
    "audit export": audit_export_command,
}
"""Handlers by command path: the subcommand names joined by a space."""


def build_parser() -> argparse.ArgumentParser:
    """Every command and its arguments; each name path must have an entry in COMMANDS."""
    parser = argparse.ArgumentParser(prog="python -m bot", description="paybot")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = subparsers.add_parser("serve", help="serve paybot (Slack, Teams) on 127.0.0.1")
    serve.add_argument("--port", type=int, default=3000, help="port (default 3000; 0 = any)")

    subparsers.add_parser(
        "doctor", help="check this deployment's settings against Slack, Stripe, Bedrock, DynamoDB"
    )

    sessions = subparsers.add_parser("sessions", help="manage the session store")
    actions = sessions.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("create-table", help="create the DynamoDB sessions table (SESSIONS_TABLE)")
    actions.add_parser("purge-expired", help="delete expired sessions from SESSION_STORE")

    audit = subparsers.add_parser("audit", help="the payment audit trail")
    audit_actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = audit_actions.add_parser(
        "export", help="print the audit trail as JSON lines, oldest first (to stdout)"
    )
    export.add_argument(
        "--since",
        metavar="WHEN",
        help="only records from then on: a date or time in ISO 8601 (UTC unless it says, "
        "e.g. 2026-12-01, 2026-12-01T10:00:00Z) or an age (30m, 24h, 7d); default: all",
    )

    teams = subparsers.add_parser("teams", help="the Microsoft Teams app")
    teams_actions = teams.add_subparsers(dest="action", required=True, metavar="ACTION")
    zip_it = teams_actions.add_parser("package", help="write the Teams app zip (manifest, icons)")
    zip_it.add_argument("--app-id", help="the bot's Microsoft App ID (default: TEAMS_APP_ID)")
    zip_it.add_argument("--website-url", help="https page about the app (default: PUBLIC_URL)")
    zip_it.add_argument("--privacy-url", help="https privacy statement (default: the website)")
    zip_it.add_argument("--terms-url", help="https terms of use (default: the website)")
    zip_it.add_argument("--output", default="paybot-teams.zip", help="the zip to write")
    return parser


def _command_path(args: argparse.Namespace) -> str:
    return " ".join(filter(None, (args.command, getattr(args, "action", None))))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; failures print one line to stderr and return 1."""
    args = build_parser().parse_args(argv)
    if args.command == "doctor":  # reads the settings itself: a bad one is one of its findings
        return doctor_command(args)
    try:
        if args.command == "teams":  # packaging needs the app id, not a whole deployment
            return teams_package_command(args)
        settings = load_settings()
        configure_logging(settings.LOG_LEVEL)
        return COMMANDS[_command_path(args)](args, settings)
    except PaybotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
