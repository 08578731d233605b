"""OTLP metric points, as the receiver stored them, in the metrics model.

Cumulative points are read at their latest value; delta points are added up. Names are
translated to their Prometheus form (see :mod:`conformance.metrics.model`); the OTLP name
and unit stay on the family for the naming rules of MET-03.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.metrics.model import (
    Family,
    Kind,
    Series,
    Snapshot,
    labels_of,
    prometheus_name,
)
from conformance.telemetry import MetricPoint


def kind_of(point: MetricPoint) -> Kind:
    if point.kind == "sum":
        return "counter" if point.monotonic else "gauge"
    if point.kind in ("histogram", "exponential_histogram"):
        return "histogram"
    if point.kind == "summary":
        return "summary"
    return "gauge"


def from_points(points: Iterable[MetricPoint], source: str = "OTLP") -> Snapshot:
    """The state the points describe, one series per metric and attribute set."""
    snapshot = Snapshot(source)
    ordered = sorted(points, key=lambda p: (p.time_ns, p.received_at))
    for point in ordered:
        kind = kind_of(point)
        name = prometheus_name(point.name, point.unit, kind)
        family = snapshot.families.setdefault(
            name,
            Family(name, kind, point.description, point.unit, source_name=point.name),
        )
        key = labels_of(point.attributes)
        series = _series(point, key)
        previous = family.series.get(key)
        if previous is not None and point.temporality == "delta":
            series = _added(previous, series)
        family.series[key] = series
    return snapshot


def _series(point: MetricPoint, key: tuple[tuple[str, str], ...]) -> Series:
    if point.count is not None:
        running = 0.0
        buckets: list[tuple[float, float]] = []
        bounds = [*point.explicit_bounds, float("inf")]
        for bound, count in zip(bounds, point.bucket_counts, strict=False):
            running += count
            buckets.append((bound, running))
        return Series(key, float(point.count), point.sum, tuple(buckets))
    return Series(key, float(point.value or 0))


def _added(previous: Series, new: Series) -> Series:
    buckets = tuple(
        (bound, old + count)
        for (bound, old), (_, count) in zip(previous.buckets, new.buckets, strict=False)
    )
    total = (previous.sum or 0.0) + (new.sum or 0.0)
    return Series(new.labels, previous.value + new.value, total, buckets)
