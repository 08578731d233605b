"""The telemetry store: its cap, its queries, and waits that explain themselves."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.telemetry.model import LogRecord, MetricPoint, SpanRecord
from conformance.telemetry.store import TelemetryStore


def span(trace: str = "a" * 32, service: str = "orders", **fields: Any) -> SpanRecord:
    values: dict[str, Any] = {
        "trace_id": trace,
        "span_id": "b" * 16,
        "parent_span_id": "",
        "name": "GET /orders",
        "kind": "SERVER",
        "start_ns": 0,
        "end_ns": 1_000,
        "resource": {"service.name": service},
        **fields,
    }
    return SpanRecord(**values)


@pytest.fixture
def later() -> Iterator[Any]:
    """Run a callable after a delay in a thread, joined at the end of the test."""
    threads: list[threading.Timer] = []

    def schedule(delay_s: float, action: Any) -> None:
        timer = threading.Timer(delay_s, action)
        timer.start()
        threads.append(timer)

    yield schedule
    for timer in threads:
        timer.cancel()
        timer.join(5)


def test_items_beyond_capacity_are_dropped_and_counted() -> None:
    """A full store keeps the first items, drops the rest and counts them per kind."""
    store = TelemetryStore(capacity=2)

    rejected = store.add_spans([span(), span(), span()])

    assert rejected == 1
    assert len(store.spans()) == 2
    assert store.dropped == {"spans": 1, "metric_points": 0, "logs": 0}
    assert store.add_logs([LogRecord(), LogRecord(), LogRecord()]) == 1


def test_queries_by_trace_id_name_and_predicate() -> None:
    """Spans and logs are found by trace id, metric points by name."""
    store = TelemetryStore()
    store.add_spans([span("a" * 32, name="x"), span("c" * 32, name="y")])
    store.add_metric_points([MetricPoint(name="m", kind="sum", value=1)])
    store.add_logs([LogRecord(trace_id="c" * 32, body="hi")])

    assert [s.name for s in store.spans(trace_id="A" * 32)] == ["x"]
    assert [s.name for s in store.spans(predicate=lambda s: s.name == "y")] == ["y"]
    assert [p.value for p in store.metric_points("m")] == [1]
    assert store.metric_points("other") == []
    assert [log.body for log in store.logs(trace_id="c" * 32)] == ["hi"]


def test_wait_for_trace_timeout_describes_what_arrived() -> None:
    """An expired wait says that nothing matched and what arrived instead."""
    store = TelemetryStore()
    store.add_spans([span("1" * 32), span("2" * 32, service="billing"), span("2" * 32)])
    wanted = "f" * 32

    result = store.wait_for_trace(wanted, timeout_s=0.2)

    assert not result.satisfied
    assert result.items == []
    assert 0.2 <= result.waited_s < 2
    assert result.describe() == (
        f"no span with trace id {wanted} arrived within 0.2 s; 3 spans from 2 traces "
        "arrived in all, services: ['billing', 'orders']"
    )


def test_wait_wakes_on_arrival_without_waiting_out_the_timeout(later: Any) -> None:
    """A wait returns as soon as enough matching spans arrive from another thread."""
    store = TelemetryStore()
    later(0.1, lambda: store.add_spans([span(name="miss")]))
    later(0.2, lambda: store.add_spans([span(name="hit"), span(name="hit")]))

    result = store.wait_for_spans(lambda s: s.name == "hit", count=2, timeout_s=10)

    assert result.satisfied
    assert [s.name for s in result.items] == ["hit", "hit"]
    assert result.waited_s < 5
    assert result.describe().startswith("2 spans matching the condition arrived within")


def test_settle_collects_a_late_second_span(later: Any) -> None:
    """With settle_s, a wait keeps collecting spans that arrive after the first."""
    store = TelemetryStore()
    trace = "d" * 32
    store.add_spans([span(trace, name="first")])
    later(0.1, lambda: store.add_spans([span(trace, name="second")]))

    started = time.monotonic()
    result = store.wait_for_trace(trace, timeout_s=5, settle_s=0.5)

    assert result.satisfied
    assert [s.name for s in result.items] == ["first", "second"]
    assert 0.5 <= time.monotonic() - started < 3


def test_partial_result_says_how_many_of_how_many() -> None:
    """A wait that got some but not all says so, with the drops it knows of."""
    store = TelemetryStore(capacity=1)
    store.add_spans([span(), span()])

    result = store.wait_for_trace("a" * 32, count=3, timeout_s=0.05)

    assert not result.satisfied
    assert result.describe().startswith(
        f"only 1 of 3 spans with trace id {'a' * 32} arrived within 0.05 s;"
    )
    assert result.describe().endswith("1 more were dropped because the store was full")


def test_wait_for_metric_and_logs(later: Any) -> None:
    """Metric and log waits are met by matching arrivals and explain a timeout."""
    store = TelemetryStore()
    later(0.05, lambda: store.add_metric_points([MetricPoint(name="m", kind="gauge")]))
    later(0.05, lambda: store.add_logs([LogRecord(severity_text="ERROR")]))

    metric = store.wait_for_metric("m", timeout_s=5)
    logs = store.wait_for_logs(lambda r: r.severity_text == "ERROR", timeout_s=5)
    missing = store.wait_for_metric("absent", timeout_s=0.05)

    assert metric.satisfied and logs.satisfied
    assert missing.describe() == (
        "no metric point named 'absent' arrived within 0.05 s; "
        "1 metric point of 1 metric arrived in all, names: ['m']"
    )


def test_clear_forgets_records_but_keeps_request_counters() -> None:
    """clear() empties the store and its drop counts; request counters survive."""
    store = TelemetryStore(capacity=1)
    store.add_spans([span(), span()])
    store.record_request("traces", "http")
    store.record_request("traces", "http", ok=False)

    store.clear()

    assert store.spans() == []
    assert store.dropped["spans"] == 0
    assert store.requests == {("traces", "http"): 2}
    assert store.errors == {("traces", "http"): 1}


def test_capacity_must_be_positive() -> None:
    """A capacity below one is refused with a message naming the value."""
    with pytest.raises(ValueError, match="at least 1, got 0"):
        TelemetryStore(capacity=0)


def test_metric_point_waits_wake_on_the_next_export(later: Any) -> None:
    """Readers of metric points learn of an export as it arrives, or of none at all."""
    store = TelemetryStore()
    store.add_metric_points([MetricPoint(name="m", kind="gauge")])
    later(0.05, lambda: store.add_metric_points([MetricPoint(name="m", kind="gauge")]))

    held = store.wait_for_metric_points_beyond(1, timeout_s=10)
    unchanged = store.wait_for_metric_points_beyond(held, timeout_s=0.05)

    assert held == 2
    assert unchanged == 2 == store.metric_point_count()
