"""The two session stores as a test sees them: read through the adapter, or raw, and write raw."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.adapters.dynamodb_store import (
    DATA_ATTRIBUTE,
    KEY_ATTRIBUTE,
    SESSION_KEY_PREFIX,
    TTL_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    DynamoSessionStore,
)
from bot.adapters.sqlite_store import SqliteSessionStore
from bot.models import Session
from emulator.slack_requests import TEAM_ID
from tests.fakes import slack_user


class StoreUnderTest(Protocol):
    kind: str

    @property
    def environment(self) -> dict[str, str]:
        """The settings that point the app at this store."""
        ...

    def session(self, user_id: str, team_id: str = TEAM_ID) -> Session | None:
        """The live session as the app's own adapter reads it."""
        ...

    def raw(self) -> str:
        """Everything the store holds (sessions and event claims), as one string."""
        ...

    def write_raw(self, session: Session) -> None:
        """Store `session` as it is, past every condition the adapter would check."""
        ...


@dataclass
class SqliteStoreUnderTest:
    path: Path
    kind: str = "sqlite"

    @property
    def environment(self) -> dict[str, str]:
        return {"SESSION_STORE": "sqlite", "SQLITE_PATH": str(self.path)}

    def session(self, user_id: str, team_id: str = TEAM_ID) -> Session | None:
        store = SqliteSessionStore(self.path)
        try:
            return store.get(slack_user(team_id, user_id))
        finally:
            store.close()

    def raw(self) -> str:
        with closing(sqlite3.connect(self.path)) as db:
            sessions = db.execute("SELECT * FROM sessions").fetchall()
            events = db.execute("SELECT * FROM events").fetchall()
        return json.dumps([sessions, events], ensure_ascii=False)

    def write_raw(self, session: Session) -> None:
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO sessions (team_id, user_id, version, expires_at, data) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    session.tenant_id,
                    session.user_id,
                    session.version,
                    session.expires_at,
                    session.model_dump_json(),
                ),
            )


@dataclass
class DynamoStoreUnderTest:
    table: str
    client: Any = field(repr=False)
    kind: str = "dynamodb"

    @property
    def environment(self) -> dict[str, str]:
        return {"SESSION_STORE": "dynamodb", "SESSIONS_TABLE": self.table}

    def session(self, user_id: str, team_id: str = TEAM_ID) -> Session | None:
        store = DynamoSessionStore(self.table, client=self.client)
        return store.get(slack_user(team_id, user_id))

    def raw(self) -> str:
        items = self.client.scan(TableName=self.table, ConsistentRead=True)["Items"]
        return json.dumps(items, ensure_ascii=False)

    def write_raw(self, session: Session) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                KEY_ATTRIBUTE: {"S": f"{SESSION_KEY_PREFIX}{session.tenant_id}#{session.user_id}"},
                VERSION_ATTRIBUTE: {"N": str(session.version)},
                TTL_ATTRIBUTE: {"N": str(session.expires_at)},
                DATA_ATTRIBUTE: {"S": session.model_dump_json()},
            },
        )
