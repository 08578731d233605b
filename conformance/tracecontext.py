"""W3C Trace Context headers the suite sends, valid and deliberately broken.

The suite chooses the trace id of every traced probe, so the spans it causes can be
found in the receiver. The malformed values follow the W3C Trace Context specification's
parsing rules (section 3.2): each must make a conforming server start a new trace.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
VALID: Final = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
ZERO_TRACE: Final = "0" * 32
ZERO_SPAN: Final = "0" * 16


@dataclass(frozen=True)
class TraceParent:
    """The ids one traced probe carries."""

    trace_id: str
    span_id: str
    sampled: bool = True

    @classmethod
    def new(cls, sampled: bool = True) -> TraceParent:
        return cls(secrets.token_hex(16), secrets.token_hex(8), sampled)

    @property
    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def headers(self) -> dict[str, str]:
        return {TRACEPARENT: self.header}


@dataclass(frozen=True)
class MalformedTraceParent:
    """A header value a server must reject, with the ids it must not propagate."""

    label: str
    values: tuple[str, ...]
    trace_id: str
    span_id: str


def malformed_traceparents() -> list[MalformedTraceParent]:
    """One broken ``traceparent`` per rule of the specification, with fresh ids."""
    cases: list[MalformedTraceParent] = []

    def add(
        label: str, build: str | tuple[str, ...], trace_id: str, span_id: str
    ) -> None:
        values = build if isinstance(build, tuple) else (build,)
        cases.append(MalformedTraceParent(label, values, trace_id, span_id))

    t, s = _ids()
    add("version ff", f"ff-{t}-{s}-01", t, s)
    t, s = _ids()
    add("all-zero trace id", f"00-{ZERO_TRACE}-{s}-01", ZERO_TRACE, s)
    t, s = _ids()
    add("all-zero span id", f"00-{t}-{ZERO_SPAN}-01", t, ZERO_SPAN)
    t, s = _ids()
    add("trace id too short", f"00-{t[:30]}-{s}-01", t[:30], s)
    t, s = _ids()
    add("span id too long", f"00-{t}-{s}00-01", t, s + "00")
    t, s = _ids()
    add("illegal characters", f"00-{t[:31]}G-{s}-01", t[:31] + "g", s)
    t, s = _ids()
    add("upper-case hex", f"00-{t.upper()}-{s}-01", t, s)
    t, s = _ids()
    t2, s2 = _ids()
    add("duplicated header", (f"00-{t}-{s}-01", f"00-{t2}-{s2}-01"), t, s)
    return cases


def parse(value: str) -> tuple[str, str] | None:
    """``(trace_id, parent_span_id)`` of a valid header, else ``None``."""
    if not VALID.match(value):
        return None
    _, trace_id, span_id, _ = value.split("-")
    return trace_id, span_id


def _ids() -> tuple[str, str]:
    return secrets.token_hex(16), secrets.token_hex(8)
