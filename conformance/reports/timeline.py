"""Lay out a check's spans as trace timelines: bars under their parents, to scale."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    """One span's row: indentation, label and where its bar starts and ends (percent)."""

    depth: int
    name: str
    kind: str
    status: str
    service: str
    left: float
    width: float
    duration_ms: float
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Timeline:
    trace_id: str
    duration_ms: float
    bars: list[Bar]


def timelines(spans: list[dict[str, Any]]) -> list[Timeline]:
    """One timeline per trace, spans ordered parent first, then by start time."""
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        by_trace[span["trace_id"]].append(span)

    return [_timeline(trace_id, members) for trace_id, members in by_trace.items()]


def _timeline(trace_id: str, spans: list[dict[str, Any]]) -> Timeline:
    start = min(s["start_ns"] for s in spans)
    end = max(s["end_ns"] for s in spans)
    total = max(end - start, 1)
    ids = {s["span_id"] for s in spans}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        parent = span["parent_span_id"] if span["parent_span_id"] in ids else ""
        children[parent].append(span)

    bars: list[Bar] = []

    def visit(parent: str, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s["start_ns"]):
            bars.append(
                Bar(
                    depth=min(depth, 12),
                    name=span["name"],
                    kind=span["kind"],
                    status=span["status"],
                    service=span.get("service", ""),
                    left=round(100 * (span["start_ns"] - start) / total, 2),
                    width=max(
                        round(100 * (span["end_ns"] - span["start_ns"]) / total, 2), 0.5
                    ),
                    duration_ms=round((span["end_ns"] - span["start_ns"]) / 1e6, 3),
                    attributes=span.get("attributes", {}),
                )
            )
            if depth < 50:
                visit(span["span_id"], depth + 1)

    visit("", 0)
    return Timeline(trace_id, round(total / 1e6, 3), bars)
