"""EMF metrics: every line is a valid embedded metric format document, values come from allow-lists,
and nothing a metric does can break the request that counts it."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from bot.cards import contains_pan
from bot.metrics import (
    DECLINE_CODES,
    NAMESPACE,
    EmfMetrics,
    Metrics,
    NoMetrics,
    decline_code,
)

CLOCK = 1_767_225_600.123  # 2026-01-01T00:00:00.123Z
PAN = "4242424242424242"
# CloudWatch's units, as the EMF specification's schema lists them.
_SIZES = ("Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes")
_BITS = ("Bits", "Kilobits", "Megabits", "Gigabits", "Terabits")
UNITS = {
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Percent",
    "Count",
    "Count/Second",
    "None",
    *_SIZES,
    *_BITS,
    *(f"{size}/Second" for size in _SIZES + _BITS),
}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_text(value: object, longest: int) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= longest


def _is_list(value: object, shortest: int, longest: int) -> bool:
    return isinstance(value, list) and shortest <= len(value) <= longest


def validate_emf(line: str) -> dict[str, Any]:
    """The document in `line`, after checking it against the EMF specification's rules."""
    assert "\n" not in line, "one log event is one line"
    document = json.loads(line)
    assert isinstance(document, dict)
    meta = document["_aws"]
    assert set(meta) == {"Timestamp", "CloudWatchMetrics"}
    assert type(meta["Timestamp"]) is int, "milliseconds since the epoch, a whole number"
    assert _is_list(meta["CloudWatchMetrics"], 1, 100)
    for directive in meta["CloudWatchMetrics"]:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert _is_text(directive["Namespace"], 1024)
        assert _is_list(directive["Dimensions"], 1, 100)
        for dimension_set in directive["Dimensions"]:
            assert _is_list(dimension_set, 0, 30)
            for key in dimension_set:
                assert _is_text(key, 250)
                assert _is_text(document[key], 1024), f"dimension {key} is a top-level string"
        assert _is_list(directive["Metrics"], 1, 100)
        for definition in directive["Metrics"]:
            assert set(definition) <= {"Name", "Unit", "StorageResolution"}
            assert _is_text(definition["Name"], 1024)
            target = document[definition["Name"]]
            values = target if isinstance(target, list) else [target]
            assert _is_list(values, 1, 100)
            assert all(_is_number(v) for v in values), f"metric {definition['Name']} is numeric"
            assert definition.get("Unit", "None") in UNITS
            assert definition.get("StorageResolution", 60) in (1, 60)
    return document


class Lines:
    """A writer that keeps what it is given."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def documents(self) -> list[dict[str, Any]]:
        return [validate_emf(line) for line in self.lines]


@pytest.fixture
def lines() -> Lines:
    return Lines()


@pytest.fixture
def metrics(lines: Lines) -> EmfMetrics:
    return EmfMetrics("prod", write=lines, clock=lambda: CLOCK)


def test_a_count_is_one_line_in_the_documented_shape(metrics: EmfMetrics, lines: Lines) -> None:
    metrics.count("Turns", dimension="slack")

    assert lines.documents() == [
        {
            "_aws": {
                "Timestamp": 1_767_225_600_123,
                "CloudWatchMetrics": [
                    {
                        "Namespace": "paybot",
                        "Dimensions": [["Stage"], ["Stage", "Surface"]],
                        "Metrics": [{"Name": "Turns", "Unit": "Count"}],
                    }
                ],
            },
            "Stage": "prod",
            "Surface": "slack",
            "Turns": 1,
        }
    ]


@pytest.mark.parametrize(
    ("name", "breakdown", "value"),
    [
        ("Turns", "Surface", "teams"),
        ("CardFormsOpened", "Surface", "slack"),
        ("CardsSaved", "Surface", "teams"),
        ("CardDeclines", "Code", "insufficient_funds"),
        ("RateLimited", "Budget", "charges"),
        ("ProviderErrors", "Provider", "dynamodb"),
    ],
)
def test_a_metric_with_a_breakdown_is_published_under_both_dimension_sets(
    metrics: EmfMetrics, lines: Lines, name: str, breakdown: str, value: str
) -> None:
    metrics.count(name, dimension=value, value=3)  # type: ignore[arg-type]

    [document] = lines.documents()
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [["Stage"], ["Stage", breakdown]]
    assert directive["Metrics"] == [{"Name": name, "Unit": "Count"}]
    assert (document["Stage"], document[breakdown], document[name]) == ("prod", value, 3)


def test_engine_fallbacks_are_published_by_stage_only(metrics: EmfMetrics, lines: Lines) -> None:
    metrics.count("EngineFallbacks")

    [document] = lines.documents()
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"]]
    assert document["EngineFallbacks"] == 1
    assert set(document) == {"_aws", "Stage", "EngineFallbacks"}


def test_ack_latency_is_published_in_milliseconds(metrics: EmfMetrics, lines: Lines) -> None:
    metrics.milliseconds("AckLatency", 12.5, dimension="teams")

    [document] = lines.documents()
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Metrics"] == [{"Name": "AckLatency", "Unit": "Milliseconds"}]
    assert (document["Surface"], document["AckLatency"]) == ("teams", 12.5)


def test_each_call_is_written_at_once(metrics: EmfMetrics, lines: Lines) -> None:
    metrics.count("Turns", dimension="slack")
    assert len(lines.lines) == 1
    metrics.count("CardsSaved", dimension="slack")
    assert len(lines.lines) == 2


def test_the_timestamp_is_whole_milliseconds_from_the_clock(lines: Lines) -> None:
    EmfMetrics("dev", write=lines, clock=lambda: 1_700_000_000.9996).count("EngineFallbacks")

    assert lines.documents()[0]["_aws"]["Timestamp"] == 1_700_000_000_999


@pytest.mark.parametrize("code", ["insufficient_funds", "do_not_honor", "expired_card", "other"])
def test_a_known_decline_code_is_kept(metrics: EmfMetrics, lines: Lines, code: str) -> None:
    metrics.count("CardDeclines", dimension=code)  # type: ignore[arg-type]

    assert lines.documents()[0]["Code"] == code


@pytest.mark.parametrize(
    "raw", ["made_up_code", "Insufficient_Funds", "insufficient funds", PAN, "", None, "x" * 41]
)
def test_an_unknown_decline_code_is_counted_as_other(
    metrics: EmfMetrics, lines: Lines, raw: str | None
) -> None:
    assert decline_code(raw) == "other"
    metrics.count("CardDeclines", dimension=raw)  # type: ignore[arg-type]

    [document] = lines.documents()
    assert document["Code"] == "other"
    assert PAN not in lines.lines[0]


def test_every_known_decline_code_is_a_short_lowercase_identifier() -> None:
    assert {"card_declined", "generic_decline", "do_not_honor", "authentication_required"} <= (
        DECLINE_CODES
    )
    assert all(re.fullmatch(r"[a-z_]{1,40}", code) for code in DECLINE_CODES)
    assert {decline_code(code) for code in DECLINE_CODES} == DECLINE_CODES


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Turns", "discord"),
        ("Turns", "Slack"),
        ("CardFormsOpened", PAN),
        ("CardsSaved", "stripe"),
        ("RateLimited", "refunds"),
        ("ProviderErrors", "paypal"),
        ("ProviderErrors", "teams "),
    ],
)
def test_a_value_outside_its_allow_list_is_dropped_with_a_warning(
    metrics: EmfMetrics,
    lines: Lines,
    caplog: pytest.LogCaptureFixture,
    name: str,
    value: str,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.metrics"):
        metrics.count(name, dimension=value)  # type: ignore[arg-type]

    assert lines.lines == []
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert name in record.getMessage()
    assert PAN not in record.getMessage()


def test_a_latency_outside_the_surface_list_is_dropped(metrics: EmfMetrics, lines: Lines) -> None:
    metrics.milliseconds("AckLatency", 5.0, dimension="web")

    assert lines.lines == []


def test_a_breakdown_metric_without_its_dimension_is_dropped(
    metrics: EmfMetrics, lines: Lines, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.metrics"):
        metrics.count("Turns")

    assert lines.lines == []
    assert "Surface" in caplog.text


def test_a_metric_without_a_breakdown_refuses_one(metrics: EmfMetrics, lines: Lines) -> None:
    metrics.count("EngineFallbacks", dimension="slack")

    assert lines.lines == []


@pytest.mark.parametrize(
    ("call", "name"),
    [("count", "Payments"), ("count", "AckLatency"), ("milliseconds", "Turns")],
)
def test_an_unknown_metric_or_the_wrong_unit_is_dropped(
    metrics: EmfMetrics, lines: Lines, caplog: pytest.LogCaptureFixture, call: str, name: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.metrics"):
        if call == "count":
            metrics.count(name, dimension="slack")  # type: ignore[arg-type]
        else:
            metrics.milliseconds(name, 3.0, dimension="slack")  # type: ignore[arg-type]

    assert lines.lines == []
    assert len(caplog.records) == 1


@pytest.mark.parametrize("value", [-1, True, 1.5, "1", None])
def test_a_count_that_is_not_a_whole_number_is_dropped(
    metrics: EmfMetrics, lines: Lines, value: object
) -> None:
    metrics.count("Turns", dimension="slack", value=value)  # type: ignore[arg-type]

    assert lines.lines == []


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.5, "3"])
def test_a_latency_that_is_not_a_finite_duration_is_dropped(
    metrics: EmfMetrics, lines: Lines, value: object
) -> None:
    metrics.milliseconds("AckLatency", value, dimension="slack")  # type: ignore[arg-type]

    assert lines.lines == []


def test_a_writer_that_fails_never_breaks_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    def broken(line: str) -> None:
        raise OSError("stdout is closed")

    metrics = EmfMetrics("prod", write=broken)
    with caplog.at_level(logging.WARNING, logger="bot.metrics"):
        metrics.count("CardsSaved", dimension="slack")
        metrics.milliseconds("AckLatency", 4.0, dimension="slack")

    assert [r.getMessage() for r in caplog.records] == [
        "metric CardsSaved not written: OSError",
        "metric AckLatency not written: OSError",
    ]


def test_a_clock_that_fails_never_breaks_the_caller(lines: Lines) -> None:
    def broken() -> float:
        raise RuntimeError("no time")

    EmfMetrics("prod", write=lines, clock=broken).count("Turns", dimension="slack")

    assert lines.lines == []


def test_by_default_each_line_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = EmfMetrics("staging", clock=lambda: CLOCK)
    metrics.count("Turns", dimension="teams")
    metrics.count("EngineFallbacks", value=2)

    out = capsys.readouterr().out
    assert out.endswith("\n")
    first, second = (validate_emf(line) for line in out.splitlines())
    assert (first["Stage"], first["Surface"], first["Turns"]) == ("staging", "teams", 1)
    assert second["EngineFallbacks"] == 2


def test_no_metrics_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    quiet: Metrics = NoMetrics()
    quiet.count("Turns", dimension="slack")
    quiet.count("EngineFallbacks")
    quiet.milliseconds("AckLatency", 3.0, dimension="slack")

    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("stage", ["", " prod", "prod\n", "a" * 129, "-prod", "pr od", PAN + "é"])
def test_a_stage_that_is_not_a_stage_name_fails_at_construction(stage: str) -> None:
    with pytest.raises(ValueError, match="stage"):
        EmfMetrics(stage)


@pytest.mark.parametrize("stage", ["local", "prod", "dev-2", "feature_x.1", "a" * 128])
def test_a_stage_name_becomes_the_stage_dimension(lines: Lines, stage: str) -> None:
    EmfMetrics(stage, write=lines).count("EngineFallbacks")

    assert lines.documents()[0]["Stage"] == stage


@pytest.mark.parametrize(
    "broken",
    [
        lambda d: d["_aws"].pop("Timestamp"),
        lambda d: d["_aws"].update(Timestamp=1.5),
        lambda d: d.pop("Surface"),
        lambda d: d.update(Turns="1"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Counts"),
        lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Extra=1),
    ],
)
def test_the_validator_rejects_what_the_specification_forbids(
    metrics: EmfMetrics, lines: Lines, broken: Any
) -> None:
    metrics.count("Turns", dimension="slack")
    document = json.loads(lines.lines[0])
    broken(document)

    with pytest.raises((AssertionError, KeyError)):
        validate_emf(json.dumps(document))


def test_no_line_holds_a_digit_run_that_reads_as_a_card_number(lines: Lines) -> None:
    # A 13-digit millisecond timestamp passes the Luhn check one time in ten, and a
    # latency's float fraction can too; neither may make a metric line look like card data.
    clock = iter(1_796_495_447_000 / 1000 + n / 1000 for n in range(200))
    metrics = EmfMetrics("prod", write=lines, clock=lambda: next(clock))
    for _ in range(200):
        metrics.milliseconds("AckLatency", 10.044949000075576, dimension="slack")

    documents = lines.documents()
    assert len(documents) == 200
    assert not any(contains_pan(line) for line in lines.lines)
    assert {document["AckLatency"] for document in documents} == {10.0}
    stamps = [document["_aws"]["Timestamp"] for document in documents]
    assert all(1_796_495_446_990 <= stamp <= 1_796_495_447_199 for stamp in stamps)
