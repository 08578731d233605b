"""The receiver under malformed, truncated and oversized OTLP bodies, over HTTP and gRPC.

Hypothesis generates the bodies; the receiver must answer each with the error the OTLP
specification prescribes, stay up (a valid export still works afterwards), and keep its
store within its cap.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator

import grpc
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from conformance.telemetry.receiver import OtlpReceiver
from conformance.telemetry.store import TelemetryStore

CAPACITY = 50
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
PATHS = st.sampled_from(["/v1/traces", "/v1/metrics", "/v1/logs"])
TYPES = st.sampled_from(["application/x-protobuf", "application/json"])


def valid_export(spans: int = 3) -> bytes:
    request = ExportTraceServiceRequest()
    resource = request.resource_spans.add()
    resource.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value="fuzz"))
    )
    scope = resource.scope_spans.add()
    for index in range(spans):
        scope.spans.add(
            trace_id=os.urandom(16), span_id=os.urandom(8), name=f"s{index}"
        )
    return request.SerializeToString()


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    """One receiver for every generated body, with a small cap to prove the bound."""
    store = TelemetryStore(capacity=CAPACITY)
    with OtlpReceiver(store, "127.0.0.1:0", "127.0.0.1:0") as running:
        yield running


def still_serves(receiver: OtlpReceiver) -> None:
    response = httpx.post(
        receiver.http_endpoint + "/v1/traces",
        content=valid_export(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )
    assert response.status_code == 200
    assert len(receiver.store.spans()) <= CAPACITY


@EXAMPLES
@given(
    path=PATHS, content_type=TYPES, body=st.binary(max_size=4096), zipped=st.booleans()
)
def test_malformed_http_bodies_get_a_client_error(
    receiver: OtlpReceiver, path: str, content_type: str, body: bytes, zipped: bool
) -> None:
    """Any body answers 200 (it decoded) or 400, never 5xx, and the receiver stays up."""
    headers = {"Content-Type": content_type}
    if zipped:
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body)[: max(1, len(body))]

    response = httpx.post(
        receiver.http_endpoint + path, content=body, headers=headers, timeout=10
    )

    assert response.status_code in (200, 400), response.status_code
    still_serves(receiver)


@EXAMPLES
@given(cut=st.integers(min_value=1, max_value=200))
def test_truncated_exports_are_refused_or_partially_read(
    receiver: OtlpReceiver, cut: int
) -> None:
    """A valid export cut short is refused with 400 or decoded, never a server error."""
    body = valid_export(spans=8)[:-cut]

    response = httpx.post(
        receiver.http_endpoint + "/v1/traces",
        content=body,
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )

    assert response.status_code in (200, 400)
    still_serves(receiver)


@settings(
    max_examples=5,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    content_type=st.sampled_from(
        ["text/plain", "application/xml", "", "application/grpc"]
    )
)
def test_unknown_content_types_get_415(
    receiver: OtlpReceiver, content_type: str
) -> None:
    """Bodies of types OTLP does not define are refused with 415."""
    response = httpx.post(
        receiver.http_endpoint + "/v1/traces",
        content=b"x",
        headers={"Content-Type": content_type},
        timeout=10,
    )

    assert response.status_code == 415
    still_serves(receiver)


def test_an_oversized_body_gets_413(receiver: OtlpReceiver) -> None:
    """A body past the size cap is refused with 413 rather than read into memory."""
    response = httpx.post(
        receiver.http_endpoint + "/v1/traces",
        content=b"\x00" * (80 << 20),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=60,
    )

    assert response.status_code == 413
    still_serves(receiver)


@EXAMPLES
@given(body=st.binary(max_size=4096))
def test_malformed_grpc_exports_get_an_error_status(
    receiver: OtlpReceiver, body: bytes
) -> None:
    """Garbage sent to the gRPC trace service ends in an error status or success, and the
    receiver keeps serving."""
    with grpc.insecure_channel(receiver.grpc_endpoint) as channel:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=lambda raw: raw,
            response_deserializer=lambda raw: raw,
        )
        try:
            export(body, timeout=10)
        except grpc.RpcError as error:
            assert error.code() in (
                grpc.StatusCode.INVALID_ARGUMENT,
                grpc.StatusCode.INTERNAL,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
            ), error.code()

    still_serves(receiver)
