"""Reading pushed metrics: the main instance's points, re-read as exports arrive."""

from __future__ import annotations

import threading

from conformance.metrics.sources import OtlpSource, wait_until
from conformance.telemetry.model import MetricPoint
from conformance.telemetry.store import TelemetryStore


def counter(value: float, instance: str, time_ns: int = 1) -> MetricPoint:
    return MetricPoint(
        name="http_requests",
        kind="sum",
        monotonic=True,
        temporality="cumulative",
        value=value,
        time_ns=time_ns,
        received_at=float(time_ns),
        resource={"service.name": "orders", "service.instance.id": instance},
    )


def total(source: OtlpSource) -> float:
    family = source.snapshot().families.get("http_requests_total")
    return family.total() if family else 0.0


def test_points_of_instances_launched_later_are_not_read() -> None:
    """An instance that starts after the main one and exports last is not the target."""
    store = TelemetryStore()
    store.add_metric_points([counter(7, "main")])
    store.add_metric_points([counter(1, "drill", time_ns=2)])

    assert total(OtlpSource(store)) == 7


def test_a_wait_ends_with_the_export_that_shows_the_change() -> None:
    """wait_until re-reads OTLP when an export arrives and returns the one that shows it."""
    store = TelemetryStore()
    store.add_metric_points([counter(1, "main")])
    source = OtlpSource(store)
    exports = threading.Timer(
        0.05, store.add_metric_points, [[counter(3, "main", time_ns=2)]]
    )
    exports.start()
    try:
        seen = wait_until(
            source, lambda s: s.families["http_requests_total"].total() >= 3, 10
        )
    finally:
        exports.join(timeout=5)

    assert seen.families["http_requests_total"].total() == 3
