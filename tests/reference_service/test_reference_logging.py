"""Logging: JSON off a terminal, readable lines on one, runtime level changes."""

from __future__ import annotations

import io
import json
import logging
import warnings
from datetime import datetime

import pytest

from reference_service.log_config import configure_logging, set_level


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_records_are_json_objects_off_a_terminal() -> None:
    """Each record is one JSON object with time, level, msg, logger and extras."""
    stream = io.StringIO()
    configure_logging("info", stream)

    logging.getLogger("orders").info("processing order", extra={"order_id": "o1"})

    [line] = _lines(stream)
    entry = json.loads(line)
    assert entry["level"] == "info"
    assert entry["msg"] == "processing order"
    assert entry["logger"] == "orders"
    assert entry["order_id"] == "o1"
    assert entry["time"].endswith("Z")
    assert datetime.fromisoformat(entry["time"]).utcoffset() is not None


def test_exceptions_stay_on_one_json_line() -> None:
    """A logged exception carries its traceback inside the JSON object."""
    stream = io.StringIO()
    configure_logging("info", stream)

    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("x").exception("failed")

    [line] = _lines(stream)
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert "ValueError: bad" in entry["traceback"]


def test_uvicorn_and_warnings_go_through_the_same_handler() -> None:
    """Uvicorn's loggers and Python warnings come out as JSON lines too."""
    stream = io.StringIO()
    configure_logging("info", stream)

    logging.getLogger("uvicorn.error").info("Started server process")
    warnings.warn("old API", DeprecationWarning, stacklevel=1)

    entries = [json.loads(line) for line in _lines(stream)]
    assert [entry["logger"] for entry in entries] == ["uvicorn.error", "py.warnings"]


def test_records_are_readable_lines_on_a_terminal() -> None:
    """On a terminal a record is one plain line with key=value extras."""
    stream = _Terminal()
    configure_logging("info", stream)

    logging.getLogger("orders").info("processing order", extra={"order_id": "o1"})

    [line] = _lines(stream)
    assert not line.startswith("{")
    assert "INFO" in line
    assert "processing order" in line
    assert "order_id='o1'" in line


def test_level_changes_at_runtime() -> None:
    """set_level switches debug output on and off without reconfiguring."""
    stream = io.StringIO()
    configure_logging("info", stream)
    logger = logging.getLogger("orders")

    logger.debug("hidden")
    assert set_level("debug") == "info"
    logger.debug("shown")
    assert set_level("info") == "debug"
    logger.debug("hidden again")

    assert [json.loads(line)["msg"] for line in _lines(stream)] == ["shown"]


def test_unknown_level_is_refused() -> None:
    """An unknown level name raises with the valid choices."""
    with pytest.raises(ValueError, match="debug, info, warning, error"):
        set_level("loud")
