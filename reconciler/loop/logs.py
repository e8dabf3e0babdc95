"""Log output of `harmonia run`: one line per record, as text or as JSON lines.

Library code only logs through `logging`; this module decides where the lines go and
how they look. It owns one handler on the root logger, replaced on every call.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

LOG_FORMATS = ("text", "json")

_RECORD_FIELDS = frozenset(
    {
        *logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__,
        "message",
        "asctime",
        "taskName",
    }
)
"""Attributes every record has; anything else on a record came from `extra=`."""


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields passed with a log call (release, revision, ...)."""
    return {key: value for key, value in record.__dict__.items() if key not in _RECORD_FIELDS}


def utc_time(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))


class TextFormatter(logging.Formatter):
    """`2026-11-23T22:00:00Z INFO harmonia.loop: message release=shop/web`."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{utc_time(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extras = " ".join(f"{key}={value}" for key, value in extra_fields(record).items())
        if extras:
            line = f"{line} {extras}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            **extra_fields(record),
            "time": utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        return json.dumps(body, default=str)


class _HarmoniaHandler(logging.StreamHandler[TextIO]):
    """Marks the handler this module installed, so a second call replaces it."""


def configure_logging(
    *, log_format: str = "text", level: str = "info", stream: TextIO | None = None
) -> None:
    """Send every log record at `level` or above to `stream` (stderr) as `log_format`."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(LOG_FORMATS)}")
    levels = logging.getLevelNamesMapping()
    if level.upper() not in levels:
        raise ValueError(f"log level {level!r} is not one of debug, info, warning, error")
    handler = _HarmoniaHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for installed in [h for h in root.handlers if isinstance(h, _HarmoniaHandler)]:
        root.removeHandler(installed)
        installed.close()
    root.addHandler(handler)
    root.setLevel(levels[level.upper()])
