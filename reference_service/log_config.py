"""Logging: JSON lines for machines, plain lines for people.

Off a terminal (containers, log shippers) every line on stdout is one JSON
object; on a terminal the same records read as single human lines. Uvicorn's
loggers go through the same handler so nothing bypasses the format. A record
written while a span is current carries its `trace_id` and `span_id`, so a
log line leads to its trace and back.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

import orjson
from opentelemetry import trace

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

# Uvicorn's own loggers; they must propagate to the root handler.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__,
) | {"message", "asctime", "color_message", "taskName"}


def _json_line(entry: dict[str, Any]) -> str:
    """The entry as one line of JSON; orjson is about ten times the stdlib's speed."""
    try:
        return orjson.dumps(entry, default=str).decode()
    except orjson.JSONEncodeError:
        # Values orjson refuses (integers past 64 bits) still make a line.
        return json.dumps(entry, default=str, ensure_ascii=False)


def _timestamp(record: logging.LogRecord) -> str:
    """RFC 3339 in UTC with milliseconds, as `2026-01-31T12:00:00.123Z`."""
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_FIELDS and not key.startswith("_")
    }


class TraceContextFilter(logging.Filter):
    """Adds the current span's `trace_id` and `span_id` (hex) to each record.

    On the handler rather than a logger, so records propagated from any
    logger, uvicorn's included, get them too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = f"{span_context.trace_id:032x}"
            record.span_id = f"{span_context.span_id:016x}"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, msg, logger and the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
            "logger": record.name,
        }
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry.setdefault("error", repr(record.exc_info[1]))
            entry["traceback"] = self.formatException(record.exc_info)

        return _json_line(entry)


class TerminalFormatter(logging.Formatter):
    """A single readable line: time, level, logger, message, then key=value."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(
            f"{key}={value!r}" for key, value in _extra_fields(record).items()
        )
        line = (
            f"{_timestamp(record)} {record.levelname:<7} "
            f"{record.name}: {record.getMessage()}"
        )
        if fields:
            line = f"{line} {fields}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"

        return line


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """Send every record, uvicorn's included, to one handler on stdout."""
    target = stream if stream is not None else sys.stdout
    handler = logging.StreamHandler(target)
    handler.setFormatter(TerminalFormatter() if target.isatty() else JsonFormatter())
    handler.addFilter(TraceContextFilter())

    _skip_unwritten_record_fields()
    root = logging.getLogger()
    for existing in root.handlers[:]:
        root.removeHandler(existing)
    root.addHandler(handler)
    set_level(level)
    # Python warnings (a library's deprecation, PyJWT's short-key notice) would
    # otherwise be written raw to stderr, breaking the one-JSON-per-line rule.
    logging.captureWarnings(True)

    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def _skip_unwritten_record_fields() -> None:
    """Stop collecting what no line shows: the caller's file and line, thread, process.

    These are the switches the logging HOWTO lists under optimisation; looking up
    the caller's frame alone is a good part of the cost of a record.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def set_level(level: str) -> str:
    """Change the level at runtime and return the previous one's name."""
    try:
        number = LEVELS[level.lower()]
    except KeyError:
        msg = f"unknown log level {level!r}; choose one of {', '.join(LEVELS)}"
        raise ValueError(msg) from None

    root = logging.getLogger()
    previous = logging.getLevelName(root.level).lower()
    root.setLevel(number)

    return previous
