"""Turn OTLP export requests, protobuf or JSON, into the receiver's plain records.

Protobuf bodies go through the official ``opentelemetry-proto`` messages. JSON bodies
go through ``google.protobuf.json_format``, which already accepts lowerCamelCase keys,
64-bit integers written as strings and enums written as numbers, as OTLP/JSON allows.
One rule of OTLP/JSON it cannot follow: trace and span ids are hex strings there, while
the protobuf JSON mapping expects base64 for ``bytes`` fields. So the id fields are
rewritten from hex to base64 by hand before parsing; the rest is left to
``json_format``. Unknown fields are ignored, as the OTLP specification requires.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterable
from typing import Any, Final, Literal, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from conformance.telemetry.model import (
    LogRecord,
    MetricKind,
    MetricPoint,
    SpanEvent,
    SpanKind,
    SpanRecord,
    StatusCode,
    Temporality,
)
from conformance.telemetry.store import TelemetryStore

Signal = Literal["traces", "metrics", "logs"]
M = TypeVar("M", bound=Message)
T = TypeVar("T")

# Indexed by the protobuf enum numbers of Span.SpanKind, Status.StatusCode and
# AggregationTemporality; numbers a newer sender might add fall back to the first name.
_KINDS: Final[tuple[SpanKind, ...]] = (
    "UNSPECIFIED",
    "INTERNAL",
    "SERVER",
    "CLIENT",
    "PRODUCER",
    "CONSUMER",
)
_STATUSES: Final[tuple[StatusCode, ...]] = ("UNSET", "OK", "ERROR")
_TEMPORALITIES: Final[tuple[Temporality, ...]] = ("unspecified", "delta", "cumulative")
_METRIC_KINDS: Final[dict[str, MetricKind]] = {
    "sum": "sum",
    "gauge": "gauge",
    "histogram": "histogram",
    "exponential_histogram": "exponential_histogram",
    "summary": "summary",
}
_ID_KEYS: Final = frozenset(
    {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
)
_HEX: Final = re.compile(r"(?:[0-9a-fA-F]{2})*")


REQUEST_TYPES: Final[dict[Signal, type[Message]]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}


class OtlpDecodeError(ValueError):
    """The body is not a valid OTLP export request in the encoding it claims."""


def _pick(names: tuple[T, ...], number: int) -> T:
    return names[number] if 0 <= number < len(names) else names[0]


def any_value(value: AnyValue) -> Any:
    """Flatten an ``AnyValue`` to str, bool, int, float, bytes, list, dict or None."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_of(value.kvlist_value.values)

    return getattr(value, kind)


def attributes_of(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    """Attributes as a dict; a repeated key keeps its last value."""
    return {pair.key: any_value(pair.value) for pair in pairs}


def parse_protobuf(body: bytes, message: M) -> M:
    """Fill ``message`` from a binary protobuf body."""
    try:
        message.ParseFromString(body)
    except (DecodeError, RuntimeError, ValueError) as exc:
        msg = f"the body is not a valid protobuf {type(message).__name__}: {exc}"
        raise OtlpDecodeError(msg) from exc

    return message


def parse_json(body: bytes, message: M) -> M:
    """Fill ``message`` from an OTLP/JSON body (hex ids, see the module docstring)."""
    try:
        document = json.loads(body)
        if not isinstance(document, dict):
            msg = f"an OTLP/JSON body is a JSON object, not {type(document).__name__}"
            raise OtlpDecodeError(msg)
        json_format.ParseDict(
            _hex_ids_to_base64(document), message, ignore_unknown_fields=True
        )
    except OtlpDecodeError:
        raise
    except (ValueError, RecursionError, json_format.ParseError) as exc:
        msg = f"the body is not a valid OTLP/JSON {type(message).__name__}: {exc}"
        raise OtlpDecodeError(msg) from exc

    return message


def _hex_ids_to_base64(node: Any) -> Any:
    """Rewrite every id field below ``node`` from hex to base64, in place.

    In OTLP every field named trace_id, span_id or parent_span_id is ``bytes``, and
    attribute keys are values rather than object keys, so matching on the key is safe.
    """
    if isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                node[key] = _hex_to_base64(key, value)
            else:
                _hex_ids_to_base64(value)

    return node


def _hex_to_base64(key: str, text: str) -> str:
    if not _HEX.fullmatch(text):
        msg = f"{key} must be a hex string as OTLP/JSON requires, got {text!r}"
        raise OtlpDecodeError(msg)

    return base64.b64encode(bytes.fromhex(text)).decode("ascii")


def spans_from(
    request: ExportTraceServiceRequest, received_at: float
) -> list[SpanRecord]:
    """Every span of the request, each with its resource and scope."""
    records: list[SpanRecord] = []
    append = records.append
    for resource_spans in request.resource_spans:
        resource = attributes_of(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope_name = scope_spans.scope.name
            scope_version = scope_spans.scope.version
            for span in scope_spans.spans:
                status = span.status
                events = span.events
                append(
                    SpanRecord(
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        span.name,
                        _pick(_KINDS, span.kind),
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                        _pick(_STATUSES, status.code),
                        status.message,
                        attributes_of(span.attributes),
                        [_event(event) for event in events] if events else [],
                        len(span.links),
                        resource,
                        scope_name,
                        scope_version,
                        span.trace_state,
                        span.flags,
                        received_at,
                    )
                )

    return records


def _event(event: Span.Event) -> SpanEvent:
    return SpanEvent(event.name, event.time_unix_nano, attributes_of(event.attributes))


def metric_points_from(
    request: ExportMetricsServiceRequest, received_at: float
) -> list[MetricPoint]:
    """Every data point of every metric in the request."""
    points: list[MetricPoint] = []
    for resource_metrics in request.resource_metrics:
        resource = attributes_of(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            common = {
                "resource": resource,
                "scope_name": scope.name,
                "scope_version": scope.version,
                "received_at": received_at,
            }
            for metric in scope_metrics.metrics:
                points.extend(_points(metric, common))

    return points


def _points(metric: Metric, common: dict[str, Any]) -> Iterable[MetricPoint]:
    data_field = metric.WhichOneof("data")
    kind = _METRIC_KINDS.get(data_field or "")
    if data_field is None or kind is None:
        return []  # no data, or a kind newer than this receiver
    data = getattr(metric, data_field)
    shared = {
        **common,
        "name": metric.name,
        "description": metric.description,
        "unit": metric.unit,
        "kind": kind,
        "monotonic": kind == "sum" and data.is_monotonic,
        "temporality": _pick(
            _TEMPORALITIES, getattr(data, "aggregation_temporality", 0)
        ),
    }

    return [
        MetricPoint(**shared, **_point_fields(kind, point))
        for point in data.data_points
    ]


def _point_fields(kind: str, point: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "attributes": attributes_of(point.attributes),
        "start_time_ns": point.start_time_unix_nano,
        "time_ns": point.time_unix_nano,
    }
    if kind in ("sum", "gauge"):
        which = point.WhichOneof("value")
        fields["value"] = getattr(point, which) if which else None
        return fields

    fields["count"] = point.count
    has_sum = kind == "summary" or point.HasField("sum")
    fields["sum"] = point.sum if has_sum else None
    if kind == "histogram":
        fields["bucket_counts"] = tuple(point.bucket_counts)
        fields["explicit_bounds"] = tuple(point.explicit_bounds)

    return fields


def logs_from(request: ExportLogsServiceRequest, received_at: float) -> list[LogRecord]:
    """Every log record of the request, each with its resource and scope."""
    records: list[LogRecord] = []
    for resource_logs in request.resource_logs:
        resource = attributes_of(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            for log in scope_logs.log_records:
                records.append(
                    LogRecord(
                        time_ns=log.time_unix_nano,
                        observed_time_ns=log.observed_time_unix_nano,
                        severity_text=log.severity_text,
                        severity_number=log.severity_number,
                        body=any_value(log.body),
                        attributes=attributes_of(log.attributes),
                        trace_id=log.trace_id.hex(),
                        span_id=log.span_id.hex(),
                        resource=resource,
                        scope_name=scope.name,
                        scope_version=scope.version,
                        received_at=received_at,
                    )
                )

    return records


def ingest(store: TelemetryStore, request: Message, transport: str) -> Message:
    """Store what the request carries and build the export response to send back.

    Items the full store dropped are reported as a partial success, which the OTLP
    specification asks receivers to send so that exporters can log the loss.
    """
    now = time.monotonic()
    response: Message
    if isinstance(request, ExportTraceServiceRequest):
        signal, what = "traces", "spans"
        rejected = store.add_spans(spans_from(request, now))
        response = ExportTraceServiceResponse()
        response.partial_success.rejected_spans = rejected
    elif isinstance(request, ExportMetricsServiceRequest):
        signal, what = "metrics", "data points"
        rejected = store.add_metric_points(metric_points_from(request, now))
        response = ExportMetricsServiceResponse()
        response.partial_success.rejected_data_points = rejected
    elif isinstance(request, ExportLogsServiceRequest):
        signal, what = "logs", "log records"
        rejected = store.add_logs(logs_from(request, now))
        response = ExportLogsServiceResponse()
        response.partial_success.rejected_log_records = rejected
    else:
        msg = f"not an OTLP export request: {type(request).__name__}"
        raise TypeError(msg)

    store.record_request(signal, transport)
    if not rejected:
        response.Clear()
        return response
    response.partial_success.error_message = (
        f"the conformance suite's telemetry store is full "
        f"({store.capacity} items per signal); {rejected} {what} were dropped"
    )

    return response
