"""Lambda entry for the scheduled purge: delete DynamoDB sessions past `expires_at`.

DynamoDB's TTL deletes expired items days late; reads already treat them as
absent, and this daily sweep keeps the table from holding them that long.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.logs import configure_logging, install_redaction

install_redaction()

from bot.adapters.dynamodb_store import DynamoSessionStore  # noqa: E402 - after redaction
from bot.settings import load_settings  # noqa: E402

log = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Purge the `SESSIONS_TABLE` table; return and log how many sessions were deleted."""
    settings = load_settings()
    configure_logging(settings.LOG_LEVEL)
    deleted = DynamoSessionStore(settings.SESSIONS_TABLE).purge_expired()
    log.info("deleted %d expired sessions from %s", deleted, settings.SESSIONS_TABLE)
    return {"deleted": deleted}
