"""How the app's logging is set up: one redacting handler, SDK loggers held to warnings,
and the loggers that print whole bodies at DEBUG silenced there."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest

import bot.logs
from bot.logs import RedactingFormatter, configure_logging, install_redaction

SDK_LOGGERS = ("slack_bolt", "slack_sdk", "botocore", "boto3", "urllib3", "stripe", "aiohttp")
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (\w+) ([\w.:]+) (.*)$")


@pytest.fixture
def root_restored() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sdk_levels = {name: logging.getLogger(name).level for name in SDK_LOGGERS}
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, sdk_level in sdk_levels.items():
        logging.getLogger(name).setLevel(sdk_level)


def formatted(root: logging.Logger, logger: str, level: int, message: str) -> str:
    """The line the app's handler writes for one record."""
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream := io.StringIO())
    handler.handle(
        logging.getLogger(logger).makeRecord(logger, level, __file__, 1, message, (), None)
    )
    return stream.getvalue()


def test_the_default_level_is_info(root_restored: logging.Logger) -> None:
    root_restored.setLevel(logging.ERROR)
    configure_logging()
    assert root_restored.level == logging.INFO


def test_each_line_is_time_level_logger_and_message(root_restored: logging.Logger) -> None:
    configure_logging("INFO")
    line = formatted(root_restored, "paybot.test", logging.WARNING, "card 4242 4242 4242 4242")
    match = LINE.match(line.rstrip("\n"))
    assert match, line
    assert match.groups() == ("WARNING", "paybot.test", "card [card number removed]")


def test_the_single_handler_is_a_redacting_one(root_restored: logging.Logger) -> None:
    root_restored.addHandler(logging.NullHandler())
    configure_logging("INFO")
    (handler,) = root_restored.handlers
    assert isinstance(handler.formatter, RedactingFormatter)


@pytest.mark.parametrize(
    ("level", "sdk_level"),
    [
        ("DEBUG", logging.WARNING),
        ("INFO", logging.WARNING),
        ("WARNING", logging.WARNING),
        ("ERROR", logging.ERROR),
    ],
)
def test_sdk_loggers_say_only_warnings_and_errors(
    root_restored: logging.Logger, level: str, sdk_level: int
) -> None:
    configure_logging(level)
    assert root_restored.level == logging.getLevelName(level)
    assert {name: logging.getLogger(name).level for name in SDK_LOGGERS} == dict.fromkeys(
        SDK_LOGGERS, sdk_level
    )


@pytest.fixture(autouse=True)
def fresh_redaction(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test installs the record factory itself, over logging's own, and puts the
    process's factory back after: installation happens once per process otherwise."""
    before = logging.getLogRecordFactory()
    monkeypatch.setattr(bot.logs, "_installed", False)
    logging.setLogRecordFactory(logging.LogRecord)
    yield
    logging.setLogRecordFactory(before)


def test_installing_twice_wraps_the_factory_once() -> None:
    install_redaction()
    installed = logging.getLogRecordFactory()
    install_redaction()
    assert logging.getLogRecordFactory() is installed is not logging.LogRecord


def test_the_installed_factory_builds_on_the_one_before_it() -> None:
    made: list[str] = []

    def previous(*args: object, **kwargs: object) -> logging.LogRecord:
        record = logging.LogRecord(*args, **kwargs)  # type: ignore[arg-type]
        made.append(record.name)
        return record

    logging.setLogRecordFactory(previous)
    install_redaction()
    record = logging.getLogger("paybot.x").makeRecord(
        "paybot.x", logging.INFO, __file__, 1, "card %s", ("4242424242424242",), None
    )
    assert made == ["paybot.x"]
    assert (record.msg, record.args) == ("card [card number removed]", None)


QUIET = [
    "stripe",
    "stripe.http_client",
    "botocore.parsers",
    "botocore.endpoint",
    "slack_sdk.web.base_client",
    "slack_bolt.App",
    "slack_bolt.lazy_listener",
    "paybot:SlackRequestHandler",
]


@pytest.mark.parametrize("name", QUIET)
@pytest.mark.parametrize("level", [logging.DEBUG, logging.DEBUG - 5])
def test_body_printing_loggers_say_nothing_at_debug(name: str, level: int) -> None:
    install_redaction()
    record = logging.getLogger(name).makeRecord(
        name, level, __file__, 1, "body %s", ("text=hello",), None
    )
    assert (record.msg, record.args) == ("[debug output removed]", None)


@pytest.mark.parametrize("name", QUIET)
def test_body_printing_loggers_still_speak_redacted_above_debug(name: str) -> None:
    install_redaction()
    record = logging.getLogger(name).makeRecord(
        name, logging.DEBUG + 1, __file__, 1, "body %s", ("card 4242424242424242",), None
    )
    assert (record.msg, record.args) == ("body card [card number removed]", None)


@pytest.mark.parametrize(
    "name", ["botocore.credentials", "slack_sdk.oauth", "SlackRequestHandler.x", "paybot.stripe"]
)
def test_other_loggers_keep_their_debug_output_redacted(name: str) -> None:
    install_redaction()
    record = logging.getLogger(name).makeRecord(
        name, logging.DEBUG, __file__, 1, "event %s", ("card 4242424242424242",), None
    )
    assert (record.msg, record.args) == ("event card [card number removed]", None)


def test_a_bad_format_string_keeps_what_the_caller_said_redacted() -> None:
    install_redaction()
    record = logging.getLogger("paybot.test").makeRecord(
        "paybot.test", logging.INFO, __file__, 1, "two %s %s", ("4242424242424242",), None
    )
    assert record.msg == "two %s %s ('[card number removed]',)"
    assert record.args is None
