"""The request log and fault queue every stand-in shares (`emulator/control.py`)."""

from __future__ import annotations

import logging
import threading

import pytest

from emulator.control import Faults, RequestLog


def test_the_log_keeps_entries_in_order_and_hands_out_copies() -> None:
    log: RequestLog[str] = RequestLog()
    log.add("first")
    log.add("second")

    entries = log.entries
    entries.append("not in the log")

    assert log.entries == ["first", "second"]


def test_subscribers_hear_each_entry_until_they_unsubscribe() -> None:
    log: RequestLog[int] = RequestLog()
    heard: list[int] = []
    unsubscribe = log.subscribe(heard.append)

    log.add(1)
    unsubscribe()
    unsubscribe()  # twice is harmless
    log.add(2)

    assert heard == [1]


def test_a_failing_subscriber_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: RequestLog[int] = RequestLog()
    heard: list[int] = []

    def broken(entry: int) -> None:
        raise RuntimeError("subscriber bug")

    log.subscribe(broken)
    log.subscribe(heard.append)
    with caplog.at_level(logging.ERROR, logger="emulator.control"):
        log.add(7)

    assert heard == [7]
    assert log.entries == [7]
    assert [r.getMessage() for r in caplog.records] == ["a request log subscriber failed"]


def test_clear_forgets_entries_and_keeps_subscribers() -> None:
    log: RequestLog[int] = RequestLog()
    heard: list[int] = []
    log.subscribe(heard.append)
    log.add(1)

    log.clear()
    log.add(2)

    assert log.entries == [2]
    assert heard == [1, 2]


def test_a_fault_is_met_by_as_many_requests_as_its_count() -> None:
    faults: Faults[str] = Faults()
    faults.add("boom", 2)

    assert faults.pending == 2
    assert [faults.take(lambda f: True) for _ in range(3)] == ["boom", "boom", None]
    assert faults.pending == 0


def test_a_fault_without_a_count_meets_every_request_and_counts_as_none_pending() -> None:
    faults: Faults[str] = Faults()
    faults.add("always", None)

    assert [faults.take(lambda f: True) for _ in range(5)] == ["always"] * 5
    assert faults.pending == 0


def test_faults_are_met_in_queue_order_by_requests_they_apply_to() -> None:
    faults: Faults[str] = Faults()
    faults.add("/v1/customers")
    faults.add("/v1/setup_intents")
    faults.add("/v1/customers")

    assert faults.take(lambda f: f == "/v1/setup_intents") == "/v1/setup_intents"
    assert faults.take(lambda f: f == "/v1/setup_intents") is None
    assert faults.pending == 2


@pytest.mark.parametrize("count", [0, -1])
def test_a_fault_for_no_request_is_not_queued(count: int) -> None:
    faults: Faults[str] = Faults()
    faults.add("never", count)

    assert faults.take(lambda f: True) is None


def test_clear_drops_every_fault() -> None:
    faults: Faults[str] = Faults()
    faults.add("a", 3)
    faults.add("b", None)

    faults.clear()

    assert faults.pending == 0
    assert faults.take(lambda f: True) is None


def test_a_counted_fault_is_met_exactly_count_times_across_threads() -> None:
    faults: Faults[str] = Faults()
    faults.add("boom", 100)
    met: list[str | None] = []
    lock = threading.Lock()

    def request() -> None:
        for _ in range(50):
            found = faults.take(lambda f: True)
            with lock:
                met.append(found)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert met.count("boom") == 100
    assert met.count(None) == 100
