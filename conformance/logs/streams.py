"""Where the target's log lines are read: its captured output, a file, or OTLP.

A stream hands out a mark and later the entries written since it, so a check can look
at exactly what one request caused. Reading waits against a monotonic deadline.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final, Protocol

from conformance.launcher import OutputCapture
from conformance.logs.entries import LogEntry, parse_line
from conformance.telemetry import LogRecord, TelemetryStore

POLL_S: Final = 0.05
MAX_FILE_READ: Final = 4 << 20


class LogStream(Protocol):
    """Log entries in the order the target wrote them."""

    name: str

    def mark(self) -> int: ...

    def since(self, mark: int) -> list[LogEntry]: ...


class CaptureStream:
    """The stdout and stderr lines of an instance the suite launched."""

    def __init__(self, output: OutputCapture) -> None:
        self.output = output
        self.name = "the target's output"

    def mark(self) -> int:
        return len(self.output.lines())

    def since(self, mark: int) -> list[LogEntry]:
        lines = self.output.lines()[mark:]
        return [parse_line(line.text, line.at, line.stream) for line in lines]


class FileStream:
    """A file the target appends its log lines to (``--target-log-file``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"the log file {path}"

    def mark(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def since(self, mark: int) -> list[LogEntry]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(mark)
                data = handle.read(MAX_FILE_READ)
        except OSError:
            return []
        text = data.decode("utf-8", errors="replace")
        complete = text[: text.rfind("\n") + 1]
        return [parse_line(line) for line in complete.splitlines() if line.strip()]


class OtlpStream:
    """Log records the target exported to the suite's receiver, as entries."""

    def __init__(self, telemetry: TelemetryStore) -> None:
        self.telemetry = telemetry
        self.name = "the OTLP logs it exported"

    def mark(self) -> int:
        return len(self.telemetry.logs())

    def since(self, mark: int) -> list[LogEntry]:
        return [otlp_entry(record) for record in self.telemetry.logs()[mark:]]


def otlp_entry(record: LogRecord) -> LogEntry:
    """An OTLP record with its severity, body, attributes and trace context as fields."""
    level = record.severity_text or _severity_name(record.severity_number)
    fields = {
        "time": record.time_ns or record.observed_time_ns,
        "level": level.lower(),
        "msg": record.body,
        **record.attributes,
        "trace_id": record.trace_id,
        "span_id": record.span_id,
    }
    text = json.dumps(fields, default=str, ensure_ascii=False)
    return LogEntry(text, fields, record.received_at, "otlp")


def _severity_name(number: int) -> str:
    """OTLP severity numbers in bands of four: 1 trace up to 21 fatal."""
    names = ("trace", "debug", "info", "warn", "error", "fatal")
    return names[min(5, (number - 1) // 4)] if number > 0 else ""


def wait_for(
    stream: LogStream,
    mark: int,
    found: Callable[[LogEntry], bool],
    timeout_s: float,
    settle_s: float = 0.2,
) -> list[LogEntry]:
    """Entries since ``mark`` once one satisfies ``found`` (then ``settle_s`` more)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(found(entry) for entry in stream.since(mark)):
            time.sleep(settle_s)
            break
        time.sleep(POLL_S)
    return stream.since(mark)
