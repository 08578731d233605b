"""What a check observed, kept beside its verdict.

Evidence is recorded as the probes run, already redacted, and is what the reports show.
Families add their own kinds of observation (spans, metric samples, log lines) as
:class:`Observation` entries with a kind of their own, so the report model stays one shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Protocol

BODY_EXCERPT_LIMIT: Final = 4096
MAX_SPANS: Final = 200
ATTRIBUTE_LIMIT: Final = 256


class SpanLike(Protocol):
    """What evidence keeps of a span (the telemetry model's SpanRecord has it all)."""

    @property
    def trace_id(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def parent_span_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def start_ns(self) -> int: ...
    @property
    def end_ns(self) -> int: ...
    @property
    def status_code(self) -> str: ...
    @property
    def attributes(self) -> dict[str, Any]: ...
    @property
    def service_name(self) -> str: ...


@dataclass
class Exchange:
    """One HTTP request the suite sent and what came back, or why nothing did."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str = ""
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: str = ""
    elapsed_s: float = 0.0
    error: str | None = None

    def summary(self) -> str:
        """One line: ``GET /healthz -> 200 in 0.004 s``."""
        answer = self.error if self.status is None else str(self.status)
        return f"{self.method} {self.url} -> {answer} in {self.elapsed_s:.3f} s"


@dataclass
class Observation:
    """A labelled fact: a span, a log line, a metric sample, a note."""

    label: str
    value: str
    kind: str = "note"


@dataclass
class Evidence:
    """Everything one check instance observed."""

    exchanges: list[Exchange] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)

    def add_exchange(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def note(self, label: str, value: object, kind: str = "note") -> None:
        self.observations.append(Observation(label=label, value=str(value), kind=kind))

    def add_spans(self, spans: Iterable[SpanLike]) -> None:
        """Record spans once each, as the report's trace timeline draws them."""
        seen = {(s["trace_id"], s["span_id"]) for s in self.spans}
        for span in spans:
            if (span.trace_id, span.span_id) in seen or len(self.spans) >= MAX_SPANS:
                continue
            seen.add((span.trace_id, span.span_id))
            self.spans.append(
                {
                    "trace_id": span.trace_id,
                    "span_id": span.span_id,
                    "parent_span_id": span.parent_span_id,
                    "name": span.name,
                    "kind": span.kind,
                    "start_ns": span.start_ns,
                    "end_ns": span.end_ns,
                    "status": span.status_code,
                    "service": span.service_name,
                    "attributes": {k: _short(v) for k, v in span.attributes.items()},
                }
            )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def excerpt(body: bytes, limit: int = BODY_EXCERPT_LIMIT) -> str:
    """A body as text for the report, cut at ``limit`` bytes with a marker."""
    text = body[:limit].decode("utf-8", errors="replace")
    if len(body) > limit:
        text += f"\n… ({len(body) - limit} more bytes not shown)"

    return text


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > ATTRIBUTE_LIMIT:
        return value[:ATTRIBUTE_LIMIT] + "…"
    return value
