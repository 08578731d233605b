"""Log lines read into entries, and the field names of the common schemas.

A line that parses as a JSON object is a structured entry; anything else is plain text.
Field names are looked up among the guide's library (``http.method``, ``http.url``,
``http.status``, ``http.time_ms``), OpenTelemetry's conventions and common ones, at the
top level or nested (``{"http": {"method": ...}}``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Final

TIME: Final = ("time", "timestamp", "ts", "@timestamp", "t", "asctime", "datetime")
LEVEL: Final = ("level", "severity", "lvl", "levelname", "log.level", "severity_text")
MESSAGE: Final = ("msg", "message", "event", "body")
METHOD: Final = ("http.method", "http.request.method", "method", "request_method")
PATH: Final = (
    "http.url",
    "http.path",
    "url.path",
    "path",
    "url",
    "request_path",
    "uri",
)
STATUS: Final = (
    "http.status",
    "http.response.status_code",
    "status",
    "status_code",
    "http.status_code",
)
DURATION: Final = (
    "http.time_ms",
    "duration_ms",
    "duration",
    "elapsed_ms",
    "latency_ms",
    "http.server.request.duration",
    "response_time",
    "took_ms",
)
TRACE_ID: Final = ("trace_id", "traceid", "trace.id", "traceId", "otelTraceID")
SPAN_ID: Final = ("span_id", "spanid", "span.id", "spanId", "otelSpanID")
ERROR: Final = ("error", "err", "exception", "exc_info", "traceback", "stack")


@dataclass(frozen=True)
class LogEntry:
    """One line: the raw text and, when it is a JSON object, its fields."""

    text: str
    fields: dict[str, Any] | None = None
    at: float = 0.0
    stream: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def structured(self) -> bool:
        return self.fields is not None

    def get(self, names: tuple[str, ...]) -> Any:
        """The first of ``names`` present, dotted names also looked up nested."""
        data = self.fields or {}
        for name in names:
            if name in data:
                return data[name]
            node: Any = data
            for part in name.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is not None:
                return node
        return None

    @property
    def level(self) -> str:
        value = self.get(LEVEL)
        if value is None and not self.structured:
            return _level_in_text(self.text)
        return str(value or "").lower()

    @property
    def is_debug(self) -> bool:
        return self.level in ("debug", "trace", "10")


def parse_line(text: str, at: float = 0.0, stream: str = "") -> LogEntry:
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return LogEntry(text, data, at, stream)
    return LogEntry(text, None, at, stream)


def _level_in_text(text: str) -> str:
    for word in text.split()[:6]:
        cleaned = word.strip("[]:()").lower()
        if cleaned in ("debug", "info", "warning", "warn", "error", "critical"):
            return cleaned
    return ""


ERROR_LEVELS: Final = frozenset(
    {"error", "err", "critical", "crit", "fatal", "alert", "emergency", "panic"}
)
_TRACE_HEX: Final = re.compile(r"\b[0-9a-f]{32}\b")
_SPAN_HEX: Final = re.compile(r"^[0-9a-f]{16}$")


def trace_id_of(entry: LogEntry) -> str:
    """The trace id an entry carries, in a field or (plain text) anywhere in it."""
    if entry.structured:
        return str(entry.get(TRACE_ID) or "").lower()
    found = _TRACE_HEX.search(entry.text.lower())
    return found.group(0) if found else ""


def span_id_of(entry: LogEntry) -> str:
    """The span id field of a structured entry; plain text gives the first other id."""
    if entry.structured:
        return str(entry.get(SPAN_ID) or "").lower()
    trace_id = trace_id_of(entry)
    rest = entry.text.lower().replace(trace_id, " ") if trace_id else entry.text
    found = re.search(r"\b[0-9a-f]{16}\b", rest.lower())
    return found.group(0) if found else ""


def is_span_id(value: str) -> bool:
    return bool(_SPAN_HEX.match(value)) and value != "0" * 16


def is_error(entry: LogEntry) -> bool:
    """Error level or above, by name or by pino's and bunyan's numbers (50 and up)."""
    level = entry.level
    if level.isdigit():
        return int(level) >= 50
    return level in ERROR_LEVELS
