"""The SessionStore and EventLedger contracts, held by the SQLite and DynamoDB adapters alike."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.adapters.dynamodb_store import (
    DATA_ATTRIBUTE,
    KEY_ATTRIBUTE,
    TTL_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    DynamoEventLedger,
    DynamoSessionStore,
)
from bot.adapters.sqlite_store import SqliteEventLedger, SqliteSessionStore
from bot.errors import SessionConflict, StoreUnavailable
from bot.models import ChatUser, PaymentRecord, Session, Slots, State, TermsAcceptance, Turn
from tests.fakes import slack_user

Store = SqliteSessionStore | DynamoSessionStore
Ledger = SqliteEventLedger | DynamoEventLedger

START = 1_700_000_000.0
LIFETIME = 3600
THREADS = 20


class FakeClock:
    """A clock the test moves by hand; the stores read it instead of time.time."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "sessions.db"


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, clock: FakeClock, sqlite_path: Path) -> Iterator[Store]:
    """The SessionStore under test: each test runs once per adapter."""
    if request.param == "sqlite":
        sqlite = SqliteSessionStore(sqlite_path, clock=clock)
        yield sqlite
        sqlite.close()
    else:
        table = request.getfixturevalue("sessions_table")
        client = request.getfixturevalue("dynamodb_client")
        yield DynamoSessionStore(table, client=client, clock=clock)


@pytest.fixture(params=["sqlite", "dynamodb"])
def ledger(request: pytest.FixtureRequest, clock: FakeClock, sqlite_path: Path) -> Iterator[Ledger]:
    """The EventLedger under test: each test runs once per adapter."""
    if request.param == "sqlite":
        sqlite = SqliteEventLedger(sqlite_path, clock=clock)
        yield sqlite
        sqlite.close()
    else:
        table = request.getfixturevalue("sessions_table")
        client = request.getfixturevalue("dynamodb_client")
        yield DynamoEventLedger(table, client=client, clock=clock)


def new_session(team_id: str = "T1", user_id: str = "U1", *, lifetime: int = LIFETIME) -> Session:
    return Session(tenant_id=team_id, user_id=user_id, expires_at=int(START) + lifetime)


def full_session() -> Session:
    return Session(
        tenant_id="T1",
        user_id="U1",
        state=State.COMPLETED,
        slots=Slots(amount=Decimal("45.10"), currency="USD", reference="INV-1001", email="a@b.co"),
        history=(Turn(role="user", text="pay 45.10 USD"), Turn(role="bot", text="Card form?")),
        card_form_offered=True,
        form_ref="view-1",
        attempt=2,
        payment=PaymentRecord(
            payment_method_id="pm_1Abc", brand="visa", last4="4242", exp_month=12, exp_year=2030
        ),
        expires_at=int(START) + LIFETIME,
    )


# --- SessionStore -------------------------------------------------------------------------


def test_get_of_an_unknown_user_is_none(store: Store) -> None:
    assert store.get(slack_user("T1", "U1")) is None


def test_save_of_a_new_session_at_version_0_stores_version_1(store: Store) -> None:
    saved = store.save(new_session(), expected_version=0)

    assert saved.version == 1
    assert store.get(slack_user("T1", "U1")) == saved


def test_get_round_trips_every_field(store: Store) -> None:
    saved = store.save(full_session(), expected_version=0)

    loaded = store.get(slack_user("T1", "U1"))

    assert loaded == saved
    assert loaded is not None
    assert loaded.slots.amount == Decimal("45.10")
    assert loaded.model_dump() == full_session().evolve(version=1).model_dump()


def test_save_at_the_current_version_stores_the_next_version(store: Store) -> None:
    first = store.save(new_session(), expected_version=0)

    second = store.save(first.evolve(attempt=1), expected_version=first.version)

    assert second.version == 2
    assert store.get(slack_user("T1", "U1")) == second


def test_save_with_a_stale_version_conflicts_and_changes_nothing(store: Store) -> None:
    first = store.save(new_session(), expected_version=0)
    second = store.save(first.evolve(attempt=1), expected_version=1)

    with pytest.raises(SessionConflict):
        store.save(first.evolve(attempt=99), expected_version=1)

    assert store.get(slack_user("T1", "U1")) == second


def test_save_at_version_0_over_a_live_session_conflicts(store: Store) -> None:
    existing = store.save(new_session(), expected_version=0)

    with pytest.raises(SessionConflict):
        store.save(new_session().evolve(attempt=5), expected_version=0)

    assert store.get(slack_user("T1", "U1")) == existing


def test_save_at_a_version_when_nothing_is_stored_conflicts(store: Store) -> None:
    with pytest.raises(SessionConflict):
        store.save(new_session(), expected_version=3)

    assert store.get(slack_user("T1", "U1")) is None


def test_a_session_is_absent_from_the_moment_it_expires(store: Store, clock: FakeClock) -> None:
    store.save(new_session(lifetime=10), expected_version=0)

    clock.advance(10)

    assert store.get(slack_user("T1", "U1")) is None


def test_a_session_is_present_until_it_expires(store: Store, clock: FakeClock) -> None:
    saved = store.save(new_session(lifetime=10), expected_version=0)

    clock.advance(9.5)

    assert store.get(slack_user("T1", "U1")) == saved


def test_an_expired_session_can_be_replaced_at_version_0(store: Store, clock: FakeClock) -> None:
    first = store.save(new_session(lifetime=10), expected_version=0)
    store.save(first.evolve(attempt=1), expected_version=1)
    clock.advance(10)

    fresh = store.save(new_session(lifetime=LIFETIME + 10), expected_version=0)

    assert fresh.version == 1
    assert store.get(slack_user("T1", "U1")) == fresh


def test_saving_a_session_that_expired_since_it_was_read_conflicts(
    store: Store, clock: FakeClock
) -> None:
    read = store.save(new_session(lifetime=10), expected_version=0)
    clock.advance(10)

    with pytest.raises(SessionConflict):
        store.save(read.evolve(attempt=1, expires_at=int(clock()) + LIFETIME), expected_version=1)


def test_delete_forgets_the_session(store: Store) -> None:
    store.save(new_session(), expected_version=0)

    store.delete(slack_user("T1", "U1"))

    assert store.get(slack_user("T1", "U1")) is None


def test_after_delete_a_new_session_starts_at_version_0(store: Store) -> None:
    store.save(new_session(), expected_version=0)
    store.delete(slack_user("T1", "U1"))

    assert store.save(new_session(), expected_version=0).version == 1


def test_deleting_a_missing_session_is_fine(store: Store) -> None:
    store.delete(slack_user("T1", "nobody"))

    assert store.get(slack_user("T1", "nobody")) is None


def test_sessions_of_different_users_are_independent(store: Store) -> None:
    alice = store.save(new_session("T1", "UALICE"), expected_version=0)
    store.save(new_session("T1", "UBOB"), expected_version=0)
    other_team = store.save(new_session("T2", "UALICE"), expected_version=0)

    store.delete(slack_user("T1", "UBOB"))

    assert store.get(slack_user("T1", "UALICE")) == alice
    assert store.get(slack_user("T2", "UALICE")) == other_team
    assert store.get(slack_user("T1", "UBOB")) is None


def test_a_teams_person_and_a_slack_person_with_the_same_ids_are_independent(
    store: Store,
) -> None:
    teams = ChatUser(surface="teams", tenant_id="T1", user_id="U1")
    on_slack = store.save(new_session("T1", "U1"), expected_version=0)
    on_teams = store.save(
        Session.new(teams).evolve(expires_at=int(START) + LIFETIME), expected_version=0
    )

    store.delete(slack_user("T1", "U1"))

    assert store.get(teams) == on_teams
    assert on_teams.surface == "teams"
    assert store.get(slack_user("T1", "U1")) is None
    assert on_slack.surface == "slack"


def test_purge_expired_deletes_only_expired_sessions_and_counts_them(
    store: Store, clock: FakeClock
) -> None:
    store.save(new_session("T1", "UOLD1", lifetime=10), expected_version=0)
    store.save(new_session("T1", "UOLD2", lifetime=20), expected_version=0)
    live = store.save(new_session("T1", "ULIVE", lifetime=30), expected_version=0)
    clock.advance(20)

    deleted = store.purge_expired()

    assert deleted == 2
    assert store.get(slack_user("T1", "ULIVE")) == live
    assert store.purge_expired() == 0


ACCEPTED = TermsAcceptance(url="https://example.com/terms", version="3", accepted_at=int(START))


def test_an_acceptance_of_the_terms_outlives_the_session_and_its_purge(
    store: Store, clock: FakeClock
) -> None:
    person = slack_user("T1", "U1")
    store.save(new_session("T1", "U1", lifetime=10), expected_version=0)
    store.put_terms(person, ACCEPTED)
    clock.advance(3 * LIFETIME)

    assert store.purge_expired() == 1
    assert store.get(person) is None
    assert store.get_terms(person) == ACCEPTED


def test_a_later_acceptance_replaces_the_earlier(store: Store) -> None:
    person = slack_user("T1", "U1")
    store.put_terms(person, ACCEPTED)
    later = ACCEPTED.model_copy(update={"version": "4", "accepted_at": int(START) + 60})

    store.put_terms(person, later)

    assert store.get_terms(person) == later
    assert store.get_terms(slack_user("T1", "U2")) is None


def test_delete_forgets_the_acceptance_with_the_session(store: Store) -> None:
    person = slack_user("T1", "U1")
    store.save(new_session("T1", "U1"), expected_version=0)
    store.put_terms(person, ACCEPTED)
    store.put_terms(slack_user("T1", "U2"), ACCEPTED)

    store.delete(person)

    assert store.get(person) is None
    assert store.get_terms(person) is None
    assert store.get_terms(slack_user("T1", "U2")) == ACCEPTED


def test_purge_expired_on_an_empty_store_deletes_nothing(store: Store) -> None:
    assert store.purge_expired() == 0


def test_concurrent_read_modify_write_loses_no_update(store: Store) -> None:
    store.save(new_session(), expected_version=0)
    start = threading.Barrier(THREADS)

    def increment() -> None:
        start.wait()
        for _ in range(THREADS * 10):
            current = store.get(slack_user("T1", "U1"))
            assert current is not None
            try:
                store.save(
                    current.evolve(attempt=current.attempt + 1), expected_version=current.version
                )
            except SessionConflict:
                continue
            return
        raise AssertionError("gave up after too many conflicts")

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for future in [pool.submit(increment) for _ in range(THREADS)]:
            future.result()

    final = store.get(slack_user("T1", "U1"))
    assert final is not None
    assert final.attempt == THREADS
    assert final.version == THREADS + 1  # the creation, then one write per thread


# --- EventLedger --------------------------------------------------------------------------

WINDOW = 60
IN_PROGRESS = 10


def claim(ledger: Ledger, event_id: str = "Ev1") -> bool:
    return ledger.claim(event_id, ttl_seconds=WINDOW, in_progress_seconds=IN_PROGRESS)


def test_the_first_claim_of_an_event_succeeds(ledger: Ledger) -> None:
    assert claim(ledger) is True


def test_a_second_claim_of_the_same_event_fails(ledger: Ledger) -> None:
    claim(ledger)

    assert claim(ledger) is False


def test_a_claim_in_progress_is_held_until_its_in_progress_expiry(
    ledger: Ledger, clock: FakeClock
) -> None:
    claim(ledger)

    clock.advance(IN_PROGRESS - 0.5)

    assert claim(ledger) is False


def test_a_claim_never_completed_can_be_claimed_again_once_its_in_progress_expiry_passes(
    ledger: Ledger, clock: FakeClock
) -> None:
    claim(ledger)  # and the worker that claimed it died

    clock.advance(IN_PROGRESS)

    assert claim(ledger) is True
    assert claim(ledger) is False


def test_a_claim_taken_over_after_its_in_progress_expiry_gets_a_new_in_progress_expiry(
    ledger: Ledger, clock: FakeClock
) -> None:
    claim(ledger)
    clock.advance(IN_PROGRESS)
    claim(ledger)

    clock.advance(IN_PROGRESS - 0.5)

    assert claim(ledger) is False


def test_a_completed_claim_is_held_past_its_in_progress_expiry_for_the_whole_window(
    ledger: Ledger, clock: FakeClock
) -> None:
    claim(ledger)
    ledger.complete("Ev1")

    clock.advance(WINDOW - 0.5)

    assert claim(ledger) is False


def test_a_completed_claim_can_be_claimed_again_once_its_window_passes(
    ledger: Ledger, clock: FakeClock
) -> None:
    claim(ledger)
    ledger.complete("Ev1")
    clock.advance(WINDOW)

    assert claim(ledger) is True
    assert claim(ledger) is False


def test_completing_after_the_in_progress_expiry_still_holds_the_claim(
    ledger: Ledger, clock: FakeClock
) -> None:
    claim(ledger)
    clock.advance(IN_PROGRESS + 1)  # slow, but it finished before anyone took over

    ledger.complete("Ev1")

    assert claim(ledger) is False


def test_a_released_claim_can_be_claimed_again(ledger: Ledger) -> None:
    claim(ledger)
    ledger.release("Ev1")
    assert claim(ledger)


def test_releasing_an_unclaimed_event_is_fine(ledger: Ledger) -> None:
    ledger.release("never-claimed")
    assert claim(ledger, "never-claimed")


def test_completing_an_unclaimed_event_claims_nothing(ledger: Ledger) -> None:
    ledger.complete("never-claimed")
    assert claim(ledger, "never-claimed")


def test_completing_a_released_claim_does_not_bring_it_back(ledger: Ledger) -> None:
    claim(ledger)
    ledger.release("Ev1")

    ledger.complete("Ev1")

    assert claim(ledger)


def test_claims_of_different_events_are_independent(ledger: Ledger) -> None:
    claim(ledger, "Ev1")

    assert claim(ledger, "Ev2") is True


def test_concurrent_claims_of_one_event_let_exactly_one_win(ledger: Ledger) -> None:
    start = threading.Barrier(THREADS)

    def race() -> bool:
        start.wait()
        return claim(ledger, "EvRace")

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = [future.result() for future in [pool.submit(race) for _ in range(THREADS)]]

    assert results.count(True) == 1


def test_concurrent_takeovers_of_a_lapsed_claim_let_exactly_one_win(
    ledger: Ledger, clock: FakeClock
) -> None:
    claim(ledger, "EvRace")
    clock.advance(IN_PROGRESS)
    start = threading.Barrier(THREADS)

    def race() -> bool:
        start.wait()
        return claim(ledger, "EvRace")

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = [future.result() for future in [pool.submit(race) for _ in range(THREADS)]]

    assert results.count(True) == 1


# --- adapter specifics --------------------------------------------------------------------


def test_a_write_through_another_sqlite_store_on_the_same_file_makes_a_stale_save_conflict(
    sqlite_path: Path, clock: FakeClock
) -> None:
    # Two stores on one file behave like two processes (bot and CLI): SQLite's
    # own locking, not the in-process lock, must keep the write conditional.
    first = SqliteSessionStore(sqlite_path, clock=clock)
    second = SqliteSessionStore(sqlite_path, clock=clock)
    read = first.save(new_session(), expected_version=0)
    second.save(read.evolve(attempt=1), expected_version=read.version)

    with pytest.raises(SessionConflict):
        first.save(read.evolve(attempt=2), expected_version=read.version)

    assert first.get(slack_user("T1", "U1")) == read.evolve(attempt=1, version=2)
    first.close()
    second.close()


def test_sqlite_store_creates_its_directory_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "sessions.db"

    store = SqliteSessionStore(path)

    assert store.get(slack_user("T1", "U1")) is None
    assert path.exists()
    store.close()


def test_dynamodb_item_layout_matches_the_table_constants(
    sessions_table: str, dynamodb_client: Any, clock: FakeClock
) -> None:
    store = DynamoSessionStore(sessions_table, client=dynamodb_client, clock=clock)
    saved = store.save(new_session("T1", "U1"), expected_version=0)

    item = dynamodb_client.get_item(
        TableName=sessions_table, Key={KEY_ATTRIBUTE: {"S": "session#T1#U1"}}
    )["Item"]

    assert item[VERSION_ATTRIBUTE] == {"N": "1"}
    assert item[TTL_ATTRIBUTE] == {"N": str(saved.expires_at)}
    assert Session.model_validate_json(item[DATA_ATTRIBUTE]["S"]) == saved


def test_a_dynamodb_acceptance_lives_under_the_terms_prefix_without_a_ttl(
    sessions_table: str, dynamodb_client: Any, clock: FakeClock
) -> None:
    store = DynamoSessionStore(sessions_table, client=dynamodb_client, clock=clock)
    store.put_terms(slack_user("T1", "U1"), ACCEPTED)

    item = dynamodb_client.get_item(
        TableName=sessions_table, Key={KEY_ATTRIBUTE: {"S": "terms#T1#U1"}}
    )["Item"]

    assert TTL_ATTRIBUTE not in item  # never deleted by DynamoDB's TTL
    assert TermsAcceptance.model_validate_json(item[DATA_ATTRIBUTE]["S"]) == ACCEPTED


def test_a_dynamodb_teams_session_lives_under_its_own_surface_prefix(
    sessions_table: str, dynamodb_client: Any, clock: FakeClock
) -> None:
    store = DynamoSessionStore(sessions_table, client=dynamodb_client, clock=clock)
    teams = ChatUser(surface="teams", tenant_id="tenant-1", user_id="aad-1")
    store.save(Session.new(teams).evolve(expires_at=int(START) + LIFETIME), expected_version=0)

    item = dynamodb_client.get_item(
        TableName=sessions_table, Key={KEY_ATTRIBUTE: {"S": "session#teams#tenant-1#aad-1"}}
    ).get("Item")

    assert item is not None


def test_a_slack_session_written_before_teams_is_read_and_updated(
    store: Store, sessions_table: str, dynamodb_client: Any, sqlite_path: Path
) -> None:
    """An item as the release before Teams wrote it: same key, same JSON, no `surface`."""
    data = (
        '{"team_id":"T1","user_id":"U1","state":"collecting","slots":{"amount":"45",'
        '"currency":"USD","reference":null,"email":null},"history":[],'
        '"card_form_offered":false,"form_ref":null,"attempt":0,"pending_since":null,'
        '"checkout_id":null,"customer_id":"cus_1","setup_id":null,"payment":null,'
        f'"version":2,"expires_at":{int(START) + LIFETIME}}}'
    )
    if isinstance(store, DynamoSessionStore):
        dynamodb_client.put_item(
            TableName=sessions_table,
            Item={
                KEY_ATTRIBUTE: {"S": "session#T1#U1"},
                VERSION_ATTRIBUTE: {"N": "2"},
                TTL_ATTRIBUTE: {"N": str(int(START) + LIFETIME)},
                DATA_ATTRIBUTE: {"S": data},
            },
        )
    else:
        with closing(sqlite3.connect(sqlite_path)) as db, db:
            db.execute(
                "INSERT INTO sessions (team_id, user_id, version, expires_at, data)"
                " VALUES ('T1', 'U1', 2, ?, ?)",
                (int(START) + LIFETIME, data),
            )

    found = store.get(slack_user("T1", "U1"))
    assert found is not None
    assert (found.customer_id, found.slots.amount, found.version) == ("cus_1", Decimal(45), 2)
    saved = store.save(found.evolve(form_ref="f-1"), expected_version=2)
    assert store.get(slack_user("T1", "U1")) == saved


def test_dynamodb_ledger_claims_live_under_the_event_prefix(
    sessions_table: str, dynamodb_client: Any, clock: FakeClock
) -> None:
    claim(DynamoEventLedger(sessions_table, client=dynamodb_client, clock=clock))

    item = dynamodb_client.get_item(
        TableName=sessions_table, Key={KEY_ATTRIBUTE: {"S": "event#Ev1"}}
    )["Item"]

    assert item[TTL_ATTRIBUTE] == {"N": str(int(START) + WINDOW)}


def test_a_dynamodb_claim_recorded_without_an_in_progress_expiry_counts_as_completed(
    sessions_table: str, dynamodb_client: Any, clock: FakeClock
) -> None:
    # Claims written before in-progress expiries existed hold for their whole lifetime.
    dynamodb_client.put_item(
        TableName=sessions_table,
        Item={
            KEY_ATTRIBUTE: {"S": "event#Ev1"},
            TTL_ATTRIBUTE: {"N": str(int(START) + WINDOW)},
        },
    )
    clock.advance(WINDOW - 1)

    assert claim(DynamoEventLedger(sessions_table, client=dynamodb_client, clock=clock)) is False


def test_a_sqlite_ledger_file_from_before_in_progress_expiries_is_upgraded_in_place(
    sqlite_path: Path, clock: FakeClock
) -> None:
    sqlite_path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(sqlite_path)) as db, db:
        db.execute("CREATE TABLE events (event_id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)")
        db.execute("INSERT INTO events VALUES ('Ev1', ?)", (int(START) + WINDOW,))
    ledger = SqliteEventLedger(sqlite_path, clock=clock)
    clock.advance(WINDOW - 1)

    assert claim(ledger, "Ev1") is False  # an old claim counts as completed
    assert claim(ledger, "Ev2") is True
    ledger.close()


def test_dynamodb_purge_leaves_event_claims_alone(
    sessions_table: str, dynamodb_client: Any, clock: FakeClock
) -> None:
    ledger = DynamoEventLedger(sessions_table, client=dynamodb_client, clock=clock)
    store = DynamoSessionStore(sessions_table, client=dynamodb_client, clock=clock)
    claim(ledger)
    ledger.complete("Ev1")
    clock.advance(WINDOW)

    assert store.purge_expired() == 0
    assert "Item" in dynamodb_client.get_item(
        TableName=sessions_table, Key={KEY_ATTRIBUTE: {"S": "event#Ev1"}}
    )


def test_unreachable_dynamodb_raises_store_unavailable(moto_server: str) -> None:
    client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9", region_name="us-east-1")
    store = DynamoSessionStore("paybot-sessions", client=client)

    with pytest.raises(StoreUnavailable, match="GetItem"):
        store.get(slack_user("T1", "U1"))
