"""What a check observed, kept beside its verdict.

Evidence is recorded as the probes run, already redacted, and is what the reports show.
Families add their own kinds of observation (spans, metric samples, log lines) as
:class:`Observation` entries with a kind of their own, so the report model stays one shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final

BODY_EXCERPT_LIMIT: Final = 4096


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

    def add_exchange(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)

    def note(self, label: str, value: object, kind: str = "note") -> None:
        self.observations.append(Observation(label=label, value=str(value), kind=kind))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def excerpt(body: bytes, limit: int = BODY_EXCERPT_LIMIT) -> str:
    """A body as text for the report, cut at ``limit`` bytes with a marker."""
    text = body[:limit].decode("utf-8", errors="replace")
    if len(body) > limit:
        text += f"\n… ({len(body) - limit} more bytes not shown)"

    return text
