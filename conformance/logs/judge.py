"""Which entries belong to a request, and what they say about it.

An entry belongs to a request when it carries the request's trace id. Entries without
any trace id belong to it too when they were written while it was served and either
the instance served nothing else, or they are plainly about it: its access line, an
error, a traceback. Entries carrying another trace id belong to someone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final
from urllib.parse import urlsplit

from conformance.leaks import find_stack_trace
from conformance.logs.canaries import flatten
from conformance.logs.entries import (
    DURATION,
    ERROR,
    METHOD,
    PATH,
    STATUS,
    LogEntry,
    is_error,
    is_span_id,
    span_id_of,
    trace_id_of,
)
from conformance.logs.session import LogSession, Sent
from conformance.telemetry import TelemetryStore

AUTH_WORDS: Final = re.compile(
    r"auth|credential|unauthori[sz]ed|forbidden|denied|login|sign-?in|token",
    re.IGNORECASE,
)


def is_access_line(entry: LogEntry, sent: Sent) -> bool:
    """A line recording this request's method, path and status."""
    if sent.status is None:
        return False
    if not entry.structured:
        text = entry.text
        return f"{sent.method} {sent.path}" in text and str(sent.status) in text
    method = str(entry.get(METHOD) or "").upper()
    raw_path = str(entry.get(PATH) or "")
    path = urlsplit(raw_path).path if raw_path else ""
    status = str(entry.get(STATUS) or "")
    return method == sent.method and path == sent.path and status == str(sent.status)


def access_lines(sent: Sent, exclusive: bool) -> list[LogEntry]:
    """Every line that logged this request, whoever wrote it."""
    traced = [e for e in sent.mine() if is_access_line(e, sent)]
    if traced and not exclusive:
        return traced
    return traced + [e for e in sent.untraced() if is_access_line(e, sent)]


def has_duration(entry: LogEntry) -> bool:
    value = entry.get(DURATION)
    if value is None:
        return bool(re.search(r"\d(\.\d+)?\s?(ms|s|µs|us)\b", entry.text))
    return bool(re.search(r"\d", str(value)))


def belonging(sent: Sent, exclusive: bool) -> list[LogEntry]:
    """Entries that were written for this request (LOG-03 judges their ids)."""
    found = list(sent.mine())
    for entry in sent.untraced():
        plainly_ours = (
            is_access_line(entry, sent)
            or is_error(entry)
            or find_stack_trace(entry.text) is not None
        )
        if plainly_ours or (exclusive and entry.structured):
            found.append(entry)
    return found


def error_detail(entry: LogEntry) -> bool:
    """The entry says what went wrong: an error field or a traceback."""
    return entry.get(ERROR) is not None or find_stack_trace(entry.text) is not None


def request_context(entry: LogEntry, sent: Sent) -> bool:
    """The entry names the request: its trace id, or its method and path."""
    if sent.trace_id in entry.text.lower():
        return True
    if entry.structured:
        method = str(entry.get(METHOD) or "").upper()
        path = urlsplit(str(entry.get(PATH) or "")).path
        return method == sent.method and path == sent.path
    return sent.path in entry.text


def auth_failures(sent: Sent, exclusive: bool) -> list[LogEntry]:
    """Entries of this request, other than its access line, about authentication."""
    return [
        e
        for e in belonging(sent, exclusive)
        if not is_access_line(e, sent) and AUTH_WORDS.search(e.text)
    ]


def trace_problem(entry: LogEntry, sent: Sent, spans: set[str]) -> str:
    """What is wrong with the entry's trace context, or "" when nothing is."""
    found, text = trace_id_of(entry), entry.text
    if found != sent.trace_id and sent.trace_id not in text.lower():
        return f"carries trace id {found!r}" if found else "carries no trace id"
    return _span_problem(span_id_of(entry), spans)


def _span_problem(span_id: str, spans: set[str]) -> str:
    if not is_span_id(span_id):
        return f"carries no valid span id ({span_id!r})"
    if spans and span_id not in spans:
        return f"carries span id {span_id}, which is not a span of its trace"
    return ""


def secret_places(
    session: LogSession, telemetry: TelemetryStore
) -> Iterator[tuple[str, str]]:
    """Every place LOG-05 scans: log lines, answers, span and metric attributes."""
    for number, entry in enumerate(session.lines, start=1):
        yield f"line {number} of {session.source}", entry.text
    for sent in session.sent:
        yield f"the answer to {sent.label}", sent.body.decode("utf-8", "replace")
        for span in telemetry.spans(trace_id=sent.trace_id):
            parts = [span.name, span.status_message, *flatten(span.attributes)]
            for event in span.events:
                parts.extend(flatten(event.attributes))
            yield f"the span {span.name!r}", "\n".join(parts)
    for point in telemetry.metric_points():
        yield (
            f"the labels of the metric {point.name!r}",
            "\n".join(flatten(point.attributes)),
        )
    yield "the metrics exposition", session.metrics_text


def quote(entries: list[LogEntry], limit: int = 5) -> str:
    shown = "\n".join(e.text for e in entries[:limit])
    more = len(entries) - limit
    return shown + (f"\n… and {more} more" if more > 0 else "") or "(none)"
