"""Decoding OTLP export requests, protobuf and OTLP/JSON, into plain records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    KeyValue,
    KeyValueList,
)

from conformance.telemetry.decode import (
    OtlpDecodeError,
    any_value,
    logs_from,
    metric_points_from,
    parse_json,
    parse_protobuf,
    spans_from,
)

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
PARENT_ID = "eee19b7ec3c1b173"


def _string(text: str) -> dict[str, Any]:
    return {"stringValue": text}


def trace_json(**span: Any) -> dict[str, Any]:
    """An OTLP/JSON trace request as the specification's example writes it."""
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": _string("orders")}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "orders.http", "version": "1.0.0"},
                        "spans": [
                            {
                                "traceId": TRACE_ID.upper(),
                                "spanId": SPAN_ID,
                                "parentSpanId": PARENT_ID,
                                "name": "GET /orders/{id}",
                                "kind": 2,
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661500000000",
                                "attributes": [
                                    {"key": "http.route", "value": _string("/o/{id}")},
                                    {"key": "count", "value": {"intValue": "42"}},
                                ],
                                "status": {"code": 2, "message": "boom"},
                                **span,
                            }
                        ],
                    }
                ],
            }
        ]
    }


def test_otlp_json_span_with_hex_ids_string_int64s_and_int_enums() -> None:
    """An OTLP/JSON span keeps its hex ids, 64-bit times, enums and attributes."""
    body = json.dumps(trace_json()).encode()

    (span,) = spans_from(parse_json(body, ExportTraceServiceRequest()), 1.0)

    assert (span.trace_id, span.span_id, span.parent_span_id) == (
        TRACE_ID,
        SPAN_ID,
        PARENT_ID,
    )
    assert span.kind == "SERVER"
    assert span.start_ns == 1544712660000000000
    assert span.duration_s == pytest.approx(1.5)
    assert span.attributes == {"http.route": "/o/{id}", "count": 42}
    assert (span.status_code, span.status_message) == ("ERROR", "boom")
    assert span.service_name == "orders"
    assert (span.scope_name, span.scope_version) == ("orders.http", "1.0.0")
    assert span.received_at == 1.0


def test_otlp_json_enum_names_unknown_fields_and_links_are_accepted() -> None:
    """Enum names decode like numbers; unknown fields are ignored, as receivers must."""
    extra = {
        "kind": "SPAN_KIND_CLIENT",
        "futureField": {"nested": True},
        "links": [{"traceId": TRACE_ID, "spanId": SPAN_ID}],
        "events": [{"name": "exception", "timeUnixNano": "5", "attributes": []}],
    }
    body = json.dumps(trace_json(**extra)).encode()

    (span,) = spans_from(parse_json(body, ExportTraceServiceRequest()), 0.0)

    assert span.kind == "CLIENT"
    assert span.links == 1
    assert [(event.name, event.time_ns) for event in span.events] == [("exception", 5)]


def test_root_span_has_empty_parent() -> None:
    """A span without a parent id is a root: its parent_span_id is the empty string."""
    body = json.dumps(trace_json(parentSpanId="")).encode()

    (span,) = spans_from(parse_json(body, ExportTraceServiceRequest()), 0.0)

    assert span.parent_span_id == ""


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        json.dumps(trace_json(traceId="not-hex")).encode(),
        json.dumps({"resourceSpans": "wrong type"}).encode(),
    ],
    ids=["syntax", "array", "bad-hex", "bad-type"],
)
def test_invalid_json_bodies_raise_decode_error(body: bytes) -> None:
    """Bodies that are not OTLP/JSON raise the receiver's own decode error."""
    with pytest.raises(OtlpDecodeError):
        parse_json(body, ExportTraceServiceRequest())


def test_garbage_protobuf_raises_decode_error() -> None:
    """A body that is not protobuf raises the receiver's own decode error."""
    with pytest.raises(OtlpDecodeError, match="not a valid protobuf"):
        parse_protobuf(b"not a protobuf", ExportTraceServiceRequest())


def test_any_value_flattens_every_kind() -> None:
    """Every AnyValue kind becomes the matching plain Python value."""
    nested = AnyValue(
        kvlist_value=KeyValueList(
            values=[
                KeyValue(key="list", value=AnyValue(array_value=ArrayValue(values=[
                    AnyValue(bool_value=True),
                    AnyValue(double_value=1.5),
                    AnyValue(bytes_value=b"\x01"),
                    AnyValue(),
                ]))),
            ]
        )
    )  # fmt: skip

    assert any_value(nested) == {"list": [True, 1.5, b"\x01", None]}


def test_metric_points_of_sums_gauges_and_histograms() -> None:
    """Sum, gauge and histogram points keep their values, buckets and temporality."""
    point = {"attributes": [{"key": "route", "value": _string("/o")}]}
    document = {
        "resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {
                "name": "requests",
                "unit": "1",
                "sum": {
                    "aggregationTemporality": 2,
                    "isMonotonic": True,
                    "dataPoints": [{**point, "asInt": "7", "timeUnixNano": "9"}],
                },
            },
            {"name": "load", "gauge": {"dataPoints": [{"asDouble": 0.5}]}},
            {
                "name": "http.server.request.duration",
                "unit": "s",
                "histogram": {
                    "aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA",
                    "dataPoints": [{
                        "count": "3",
                        "sum": 0.75,
                        "bucketCounts": ["1", "2", "0"],
                        "explicitBounds": [0.005, 5.0],
                    }],
                },
            },
        ]}]}]
    }  # fmt: skip
    body = json.dumps(document).encode()

    points = metric_points_from(parse_json(body, ExportMetricsServiceRequest()), 0.0)

    total, load, latency = points
    assert (total.kind, total.value, total.monotonic) == ("sum", 7, True)
    assert (total.temporality, total.time_ns, total.attributes) == (
        "cumulative",
        9,
        {"route": "/o"},
    )
    assert (load.kind, load.value, load.temporality) == ("gauge", 0.5, "unspecified")
    assert (latency.kind, latency.unit, latency.temporality) == (
        "histogram",
        "s",
        "delta",
    )
    assert (latency.count, latency.sum) == (3, 0.75)
    assert latency.bucket_counts == (1, 2, 0)
    assert latency.explicit_bounds == (0.005, 5.0)


def test_log_records_keep_body_severity_and_trace_context() -> None:
    """A log record keeps its body, severity and hex trace context."""
    document = {
        "resourceLogs": [{"scopeLogs": [{"logRecords": [{
            "timeUnixNano": "11",
            "severityNumber": 17,
            "severityText": "ERROR",
            "body": {"kvlistValue": {"values": [{"key": "m", "value": _string("x")}]}},
            "traceId": TRACE_ID,
            "spanId": SPAN_ID,
        }]}]}]
    }  # fmt: skip
    body = json.dumps(document).encode()

    (log,) = logs_from(parse_json(body, ExportLogsServiceRequest()), 0.0)

    assert (log.time_ns, log.severity_number, log.severity_text) == (11, 17, "ERROR")
    assert log.body == {"m": "x"}
    assert (log.trace_id, log.span_id) == (TRACE_ID, SPAN_ID)


def test_protobuf_round_trip_matches_json() -> None:
    """The same request decodes to the same span from protobuf and from OTLP/JSON."""
    from_json = parse_json(
        json.dumps(trace_json()).encode(), ExportTraceServiceRequest()
    )
    body = from_json.SerializeToString()

    from_protobuf = parse_protobuf(body, ExportTraceServiceRequest())

    assert spans_from(from_protobuf, 0.0) == spans_from(from_json, 0.0)
