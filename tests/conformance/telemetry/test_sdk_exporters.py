"""The real OpenTelemetry Python SDK exporters, over HTTP and gRPC, into the receiver.

Every provider is built locally and shut down at the end of its test; none is installed
as OpenTelemetry's global, so no test leaks state into another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber, get_logger_provider
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as GrpcLogExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import get_meter_provider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

from conformance.telemetry.receiver import OtlpReceiver
from conformance.telemetry.store import TelemetryStore

RESOURCE = Resource({"service.name": "orders", "service.version": "1.4.2"})
WAIT_S = 10.0
SERVER, CLIENT = trace.SpanKind.SERVER, trace.SpanKind.CLIENT


@pytest.fixture(autouse=True)
def _no_global_providers() -> Iterator[None]:
    """Fail a test that installs a global provider instead of building its own."""
    yield
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    assert not isinstance(get_meter_provider(), MeterProvider)
    assert not isinstance(get_logger_provider(), LoggerProvider)


@pytest.fixture
def store() -> TelemetryStore:
    return TelemetryStore()


@pytest.fixture
def receiver(store: TelemetryStore) -> Iterator[OtlpReceiver]:
    with OtlpReceiver(store, "127.0.0.1:0", "127.0.0.1:0") as receiver:
        yield receiver


def http_spans(receiver: OtlpReceiver) -> SpanExporter:
    return OTLPSpanExporter(endpoint=f"{receiver.http_endpoint}/v1/traces", timeout=5)


def http_gzip_spans(receiver: OtlpReceiver) -> SpanExporter:
    return OTLPSpanExporter(
        endpoint=f"{receiver.http_endpoint}/v1/traces",
        timeout=5,
        compression=HttpCompression.Gzip,
    )


def grpc_spans(receiver: OtlpReceiver) -> SpanExporter:
    return GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True, timeout=5)


def grpc_gzip_spans(receiver: OtlpReceiver) -> SpanExporter:
    from grpc import Compression

    return GrpcSpanExporter(
        endpoint=receiver.grpc_endpoint,
        insecure=True,
        timeout=5,
        compression=Compression.Gzip,
    )


@pytest.mark.parametrize(
    "exporter",
    [http_spans, http_gzip_spans, grpc_spans, grpc_gzip_spans],
    ids=["http", "http-gzip", "grpc", "grpc-gzip"],
)
def test_sdk_spans_arrive_intact(
    receiver: OtlpReceiver,
    store: TelemetryStore,
    exporter: Callable[[OtlpReceiver], SpanExporter],
) -> None:
    """SDK spans keep ids, parent, kind, attributes, status and service name."""
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter(receiver)))
    tracer = provider.get_tracer("orders.http", "0.1.0")
    try:
        with tracer.start_as_current_span("GET /orders/{id}", kind=SERVER) as server:
            server.set_attribute("http.route", "/orders/{id}")
            server.set_attribute("http.response.status_code", 500)
            server.set_attribute("retry.delays", [0.1, 0.2])
            with tracer.start_as_current_span("SELECT", kind=CLIENT):
                server.set_status(trace.StatusCode.ERROR, "database down")
        context = server.get_span_context()
    finally:
        provider.shutdown()
    trace_id = format(context.trace_id, "032x")

    result = store.wait_for_trace(trace_id, count=2, timeout_s=WAIT_S)

    assert result.satisfied, result.describe()
    child, parent = result.items
    assert parent.span_id == format(context.span_id, "016x")
    assert (parent.kind, parent.parent_span_id) == ("SERVER", "")
    assert (child.kind, child.parent_span_id) == ("CLIENT", parent.span_id)
    assert parent.attributes == {
        "http.route": "/orders/{id}",
        "http.response.status_code": 500,
        "retry.delays": [0.1, 0.2],
    }
    assert (parent.status_code, parent.status_message) == ("ERROR", "database down")
    assert parent.service_name == "orders"
    assert parent.resource["service.version"] == "1.4.2"
    assert (parent.scope_name, parent.scope_version) == ("orders.http", "0.1.0")
    assert parent.duration_s >= child.duration_s > 0


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_metrics_arrive(
    receiver: OtlpReceiver, store: TelemetryStore, transport: str
) -> None:
    """An SDK counter and histogram arrive as sum and histogram points."""
    exporter: MetricExporter
    if transport == "http":
        exporter = OTLPMetricExporter(endpoint=f"{receiver.http_endpoint}/v1/metrics")
    else:
        exporter = GrpcMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader], resource=RESOURCE)
    meter = provider.get_meter("orders.metrics")
    try:
        meter.create_counter("orders_total").add(3, {"type": "retail"})
        histogram = meter.create_histogram("http.server.request.duration", unit="s")
        histogram.record(0.25, {"http.route": "/orders"})
        provider.force_flush(timeout_millis=5_000)
    finally:
        provider.shutdown(timeout_millis=5_000)

    duration = store.wait_for_metric("http.server.request.duration", timeout_s=WAIT_S)

    assert duration.satisfied, duration.describe()
    point = duration.items[0]
    assert (point.kind, point.unit, point.count, point.sum) == (
        "histogram",
        "s",
        1,
        0.25,
    )
    assert point.temporality == "cumulative"
    assert point.attributes == {"http.route": "/orders"}
    (total,) = {p.value for p in store.metric_points("orders_total")}
    counter = store.metric_points("orders_total")[0]
    assert (total, counter.kind, counter.monotonic) == (3, "sum", True)
    assert counter.attributes == {"type": "retail"}
    assert counter.service_name == "orders"


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_logs_arrive_with_trace_context(
    receiver: OtlpReceiver, store: TelemetryStore, transport: str
) -> None:
    """An SDK log record emitted inside a span carries that span's ids."""
    exporter: LogRecordExporter
    if transport == "http":
        exporter = OTLPLogExporter(endpoint=f"{receiver.http_endpoint}/v1/logs")
    else:
        exporter = GrpcLogExporter(endpoint=receiver.grpc_endpoint, insecure=True)
    logs = LoggerProvider(resource=RESOURCE)
    logs.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    traces = TracerProvider(resource=RESOURCE)
    try:
        with traces.get_tracer("t").start_as_current_span("work") as span:
            logs.get_logger("orders.log").emit(
                body="order failed",
                severity_number=SeverityNumber.ERROR,
                severity_text="ERROR",
                attributes={"order.id": 7},
                context=trace.set_span_in_context(span),
            )
        context = span.get_span_context()
    finally:
        logs.shutdown()
        traces.shutdown()

    result = store.wait_for_logs(lambda r: r.body == "order failed", timeout_s=WAIT_S)

    assert result.satisfied, result.describe()
    (record,) = result.items
    assert (record.severity_text, record.severity_number) == ("ERROR", 17)
    assert record.attributes == {"order.id": 7}
    assert record.trace_id == format(context.trace_id, "032x")
    assert record.span_id == format(context.span_id, "016x")
    assert (record.service_name, record.scope_name) == ("orders", "orders.log")
    assert store.logs(trace_id=record.trace_id) == [record]
