"""Log setup of `harmonia run`: text or JSON lines, extras kept, one handler only."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from reconciler.loop.logs import configure_logging

log = logging.getLogger("harmonia.loop")


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)


def json_lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_time_level_logger_message_and_extras() -> None:
    stream = io.StringIO()
    configure_logging(log_format="json", stream=stream)
    log.info("applied %s", "shop/web", extra={"release": "shop/web", "revision": "abc123"})
    [line] = json_lines(stream)
    assert line["level"] == "INFO"
    assert line["logger"] == "harmonia.loop"
    assert line["message"] == "applied shop/web"
    assert line["release"] == "shop/web"
    assert line["revision"] == "abc123"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(line["time"]))


def test_a_json_exception_is_one_string_field_on_one_line() -> None:
    stream = io.StringIO()
    configure_logging(log_format="json", stream=stream)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("pass failed")
    [line] = json_lines(stream)
    assert line["message"] == "pass failed"
    assert "RuntimeError: boom" in str(line["exception"])


def test_text_lines_read_time_level_logger_and_message() -> None:
    stream = io.StringIO()
    configure_logging(log_format="text", stream=stream)
    log.warning("prune withheld")
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ WARNING harmonia\.loop: prune withheld\n",
        stream.getvalue(),
    )


def test_text_lines_append_extras_as_key_value() -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    log.info("applied", extra={"release": "shop/web"})
    assert stream.getvalue().endswith("INFO harmonia.loop: applied release=shop/web\n")


def test_records_below_the_level_are_dropped() -> None:
    stream = io.StringIO()
    configure_logging(level="warning", stream=stream)
    log.info("quiet")
    log.error("loud")
    assert "quiet" not in stream.getvalue()
    assert "loud" in stream.getvalue()


def test_configuring_again_replaces_the_handler_instead_of_stacking() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    configure_logging(log_format="json", stream=second)
    log.info("once")
    assert first.getvalue() == ""
    assert len(json_lines(second)) == 1


@pytest.mark.parametrize(
    ("log_format", "level", "message"),
    [("yaml", "info", "log format 'yaml'"), ("text", "loud", "log level 'loud'")],
)
def test_an_unknown_format_or_level_is_refused(log_format: str, level: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        configure_logging(log_format=log_format, level=level)
