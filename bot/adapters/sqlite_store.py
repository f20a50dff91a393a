"""SQLite session store, event ledger, limits and audit trail: the embedded default for a laptop."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.errors import SessionConflict, StoreUnavailable
from bot.limits import Rate, Take, take
from bot.models import AuditRecord, ChatUser, Session, TermsAcceptance

__all__ = ["SqliteAuditLog", "SqliteEventLedger", "SqliteRateLimiter", "SqliteSessionStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    team_id    TEXT    NOT NULL,  -- ChatUser.scope: a Slack team id, or teams#<tenant>
    user_id    TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE TABLE IF NOT EXISTS events (
    event_id          TEXT    PRIMARY KEY,
    expires_at        INTEGER NOT NULL,
    in_progress_until REAL
);
CREATE TABLE IF NOT EXISTS terms (
    team_id TEXT NOT NULL,  -- as in sessions
    user_id TEXT NOT NULL,
    data    TEXT NOT NULL,  -- a TermsAcceptance, as JSON
    PRIMARY KEY (team_id, user_id)
);
CREATE TABLE IF NOT EXISTS limits (
    key TEXT PRIMARY KEY,
    tat REAL NOT NULL  -- bot.limits: when the bucket is full again (whole seconds)
);
CREATE TABLE IF NOT EXISTS audit (
    id   TEXT    PRIMARY KEY,  -- AuditRecord.id: one row per fact, never updated
    at   INTEGER NOT NULL,     -- AuditRecord.at (whole seconds)
    data TEXT    NOT NULL      -- the AuditRecord, as JSON
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at, id);
"""
# `in_progress_until` is NULL once a claim's work is complete (and in files made
# before claims had an in-progress expiry: those count as complete).

_BUSY_TIMEOUT_SECONDS = 5.0
"""How long a writer waits for another process (a CLI purge, a second bot) to finish."""


class _Database:
    """One connection to one SQLite file, shared by every thread behind a lock.

    SQLite admits one writer at a time anyway, and every operation here is a
    single short statement, so a lock costs nothing measurable. It also avoids
    per-thread connections that linger after short-lived request threads end.
    Other processes on the same file are coordinated by SQLite's own file
    locks, with WAL so readers never block the writer, and busy_timeout so a
    briefly locked file waits instead of failing.
    """

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        try:
            if str(path) != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(
                path,
                timeout=_BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # autocommit: each statement is its own transaction
                check_same_thread=False,  # guarded by self._lock instead
            )
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"SQLite database {path} cannot be opened: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run one statement atomically and return how many rows it changed."""
        with self._lock:
            return self._run(sql, params).rowcount

    def fetch_one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """Run one query and return its first row, or None."""
        with self._lock:
            # Read whole inside the lock: a half-read cursor must not interleave with another
            # thread's statement, and a write's RETURNING finishes only once fully read.
            rows = self._run(sql, params).fetchall()
            return rows[0] if rows else None

    def fetch_all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        """Run one query and return every row it gives."""
        with self._lock:
            return self._run(sql, params).fetchall()

    def _run(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> sqlite3.Cursor:
        try:
            return self._connection.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"SQLite statement failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._connection.close()


# expected_version 0: a new conversation; an expired row counts as absent.
_INSERT_IF_ABSENT_OR_EXPIRED = """
INSERT INTO sessions (team_id, user_id, version, expires_at, data)
VALUES (:team_id, :user_id, :version, :expires_at, :data)
ON CONFLICT (team_id, user_id) DO UPDATE
    SET version = excluded.version, expires_at = excluded.expires_at, data = excluded.data
    WHERE sessions.expires_at <= :now
"""

# expected_version n > 0: only a live row still at version n may be replaced.
_UPDATE_IF_LIVE_AT_VERSION = """
UPDATE sessions SET version = :version, expires_at = :expires_at, data = :data
WHERE team_id = :team_id AND user_id = :user_id AND version = :expected AND expires_at > :now
"""


class SqliteSessionStore:
    """`SessionStore` on a SQLite file; rows past `expires_at` count as absent."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self._db = _Database(path)
        self._clock = clock

    def get(self, user: ChatUser) -> Session | None:
        """Return the live session, or None if absent or past `expires_at`."""
        row = self._db.fetch_one(
            "SELECT data FROM sessions WHERE team_id = ? AND user_id = ? AND expires_at > ?",
            (user.scope, user.user_id, self._clock()),
        )
        return None if row is None else Session.from_stored(row[0])

    def save(self, session: Session, *, expected_version: int) -> Session:
        """Write `session` if the stored version is still `expected_version`; see `SessionStore`."""
        stored = session.evolve(version=expected_version + 1)
        # One conditional statement either way, so no other writer can slip in
        # between the version check and the write.
        statement = (
            _INSERT_IF_ABSENT_OR_EXPIRED if expected_version == 0 else _UPDATE_IF_LIVE_AT_VERSION
        )
        changed = self._db.execute(
            statement,
            {
                "team_id": stored.user.scope,
                "user_id": stored.user_id,
                "version": stored.version,
                "expires_at": stored.expires_at,
                "data": stored.model_dump_json(),
                "expected": expected_version,
                "now": self._clock(),
            },
        )
        if changed != 1:
            raise SessionConflict(
                f"session for {session.user} is no longer at version {expected_version}"
            )
        return stored

    def delete(self, user: ChatUser) -> None:
        """Forget the user (session and terms acceptance); deleting nothing is not an error."""
        for table in ("sessions", "terms"):
            self._db.execute(
                f"DELETE FROM {table} WHERE team_id = ? AND user_id = ?",  # noqa: S608
                (user.scope, user.user_id),
            )

    def get_terms(self, user: ChatUser) -> TermsAcceptance | None:
        row = self._db.fetch_one(
            "SELECT data FROM terms WHERE team_id = ? AND user_id = ?", (user.scope, user.user_id)
        )
        return None if row is None else TermsAcceptance.model_validate_json(row[0])

    def put_terms(self, user: ChatUser, acceptance: TermsAcceptance) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO terms (team_id, user_id, data) VALUES (?, ?, ?)",
            (user.scope, user.user_id, acceptance.model_dump_json()),
        )

    def purge_expired(self) -> int:
        """Delete every session past `expires_at`; return how many were deleted."""
        return self._db.execute("DELETE FROM sessions WHERE expires_at <= ?", (self._clock(),))

    def close(self) -> None:
        self._db.close()


# One statement, so two workers can never both take an event: a new claim, or
# one over a row whose window has passed or whose worker's time ran out.
_CLAIM = """
INSERT INTO events (event_id, expires_at, in_progress_until)
VALUES (:event_id, :expires_at, :in_progress_until)
ON CONFLICT (event_id) DO UPDATE
    SET expires_at = excluded.expires_at, in_progress_until = excluded.in_progress_until
    WHERE events.expires_at <= :now OR events.in_progress_until <= :now
"""


class SqliteEventLedger:
    """`EventLedger` on a SQLite file; an expired or abandoned claim may be claimed again."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self._db = _Database(path)
        self._clock = clock
        self._add_in_progress_column()

    def claim(self, event_id: str, *, ttl_seconds: int, in_progress_seconds: int) -> bool:
        """Return True when the caller may handle `event_id` now; see `EventLedger`."""
        now = self._clock()
        changed = self._db.execute(
            _CLAIM,
            {
                "event_id": event_id,
                "expires_at": int(now) + ttl_seconds,
                "in_progress_until": int(now) + in_progress_seconds,  # whole seconds
                "now": now,
            },
        )
        return changed == 1

    def complete(self, event_id: str) -> None:
        """Mark the claim's work done, so it holds for its whole window."""
        self._db.execute(
            "UPDATE events SET in_progress_until = NULL WHERE event_id = ?", (event_id,)
        )

    def release(self, event_id: str) -> None:
        """Forget a claim whose work failed, so a redelivery is handled."""
        self._db.execute("DELETE FROM events WHERE event_id = ?", (event_id,))

    def close(self) -> None:
        self._db.close()

    def _add_in_progress_column(self) -> None:
        """Upgrade a file from before claims had an in-progress expiry."""
        if self._has_in_progress_column():
            return
        try:
            self._db.execute("ALTER TABLE events ADD COLUMN in_progress_until REAL")
        except StoreUnavailable:
            if not self._has_in_progress_column():  # else another process added it first
                raise

    def _has_in_progress_column(self) -> bool:
        found = self._db.fetch_one(
            "SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'in_progress_until'"
        )
        return bool(found[0])


# One statement: the take and its check can never be split by another worker's take.
_TAKE = """
INSERT INTO limits (key, tat) VALUES (:key, :now + :inc)
ON CONFLICT (key) DO UPDATE SET tat = max(tat, :now) + :inc
    WHERE max(tat, :now) + :inc <= :now + :per
RETURNING tat
"""


class SqliteRateLimiter:
    """`RateLimiter` on a SQLite file: one row per bucket, `bot.limits`' GCRA in SQL."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self._db = _Database(path)
        self._clock = clock

    def take(self, key: str, rate: Rate, *, cost: int = 1) -> Take:
        # Whole seconds, as on DynamoDB: a float's digits could read as a card number.
        now = int(self._clock())
        step = math.ceil(cost * rate.interval)
        params = {"key": key, "now": now, "inc": step, "per": rate.per_seconds}
        if step <= rate.per_seconds:
            taken = self._db.fetch_one(_TAKE, params)
            if taken is not None:
                return Take(True, float(taken[0]))
        row = self._db.fetch_one("SELECT tat FROM limits WHERE key = ?", (key,))
        refused = take(None if row is None else float(row[0]), now=now, rate=rate, cost=cost)
        return Take(False, refused.tat, retry_after=max(refused.retry_after, 0.0))

    def close(self) -> None:
        self._db.close()


# Keyset paging: the next rows after the last one read, in the export's order. The first
# page starts after (since, ''), which every id (never empty) at `since` or later follows.
_AUDIT_AFTER = """
SELECT at, id, data FROM audit WHERE (at, id) > (:at, :id) ORDER BY at, id LIMIT :page
"""


class SqliteAuditLog:
    """`AuditLog` on a SQLite file: an `audit` table beside the sessions, never purged."""

    def __init__(self, path: str | Path, *, page_size: int = 500) -> None:
        """`page_size`: rows an export reads per statement (the lock is never held for all)."""
        self._db = _Database(path)
        self._page_size = page_size

    def append(self, record: AuditRecord) -> bool:
        """Add `record` unless its `id` is recorded; False for a duplicate (kept unchanged)."""
        changed = self._db.execute(
            "INSERT INTO audit (id, at, data) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (record.id, record.at, record.model_dump_json()),
        )
        return changed == 1

    def export(self, *, since: int) -> Iterator[AuditRecord]:
        """Every record with `at >= since`, oldest first (ties by `id`), a page at a time."""
        after: tuple[int, str] = (since, "")
        while True:
            rows = self._db.fetch_all(
                _AUDIT_AFTER, {"at": after[0], "id": after[1], "page": self._page_size}
            )
            for _, _, data in rows:
                yield AuditRecord.model_validate_json(data)
            if len(rows) < self._page_size:
                return
            after = (rows[-1][0], rows[-1][1])

    def close(self) -> None:
        self._db.close()
