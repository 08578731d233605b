"""OTLP/HTTP as the specification describes it, probed with raw requests."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator

import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from conformance.telemetry.otlp_http import OtlpHttpServer
from conformance.telemetry.receiver import OtlpReceiver
from conformance.telemetry.store import TelemetryStore

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def trace_request(spans: int = 1, service: str = "orders") -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        KeyValue(key="service.name", value=AnyValue(string_value=service))
    )
    scope_spans = resource_spans.scope_spans.add()
    for index in range(spans):
        scope_spans.spans.add(
            trace_id=os.urandom(16),
            span_id=os.urandom(8),
            name=f"span {index}",
            kind=2,
        )
    return request


@pytest.fixture
def store() -> TelemetryStore:
    return TelemetryStore()


@pytest.fixture
def base_url(store: TelemetryStore) -> Iterator[str]:
    """An HTTP-only receiver on a free loopback port."""
    with OtlpReceiver(store, "127.0.0.1:0", grpc_address=None) as receiver:
        yield receiver.http_endpoint


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


def test_protobuf_export_is_stored_and_answered_in_protobuf(
    client: httpx.Client, store: TelemetryStore
) -> None:
    """A protobuf export gets 200 and an empty protobuf response, and is stored."""
    body = trace_request(spans=3).SerializeToString()

    response = client.post("/v1/traces", content=body, headers=PROTOBUF)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    reply = ExportTraceServiceResponse.FromString(response.content)
    assert not reply.HasField("partial_success")
    assert [span.service_name for span in store.spans()] == ["orders"] * 3
    assert store.requests == {("traces", "http"): 1}


def test_json_export_is_answered_in_json(
    client: httpx.Client, store: TelemetryStore
) -> None:
    """An OTLP/JSON export with hex ids gets 200 and a JSON response."""
    document = {
        "resourceSpans": [
            {"scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "cd" * 8}]}]}
        ]
    }

    response = client.post("/v1/traces", json=document)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    assert [span.trace_id for span in store.spans()] == ["ab" * 16]


@pytest.mark.parametrize("content_type", ["application/x-protobuf", "application/json"])
def test_gzip_bodies_are_decompressed(
    client: httpx.Client, store: TelemetryStore, content_type: str
) -> None:
    """A gzip-compressed body in either encoding is accepted."""
    request = trace_request(spans=2)
    if content_type == "application/json":
        raw = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{}, {}]}]}]})
        body = gzip.compress(raw.encode())
    else:
        body = gzip.compress(request.SerializeToString())
    headers = {"Content-Type": content_type, "Content-Encoding": "gzip"}

    response = client.post("/v1/traces", content=body, headers=headers)

    assert response.status_code == 200
    assert len(store.spans()) == 2


def test_unsupported_content_type_is_415(client: httpx.Client) -> None:
    """A text/plain body is refused with 415 and a Status naming the accepted types."""
    response = client.post(
        "/v1/traces", content=b"hello", headers={"Content-Type": "text/plain"}
    )

    assert response.status_code == 415
    assert "application/x-protobuf" in response.json()["message"]


def test_garbage_protobuf_is_400_with_a_protobuf_status(
    client: httpx.Client, store: TelemetryStore
) -> None:
    """An undecodable protobuf body gets 400 and a google.rpc.Status in protobuf."""
    response = client.post("/v1/traces", content=b"not a protobuf", headers=PROTOBUF)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-protobuf"
    status = Status.FromString(response.content)
    assert status.code == 3
    assert "not a valid protobuf" in status.message
    assert store.errors == {("traces", "http"): 1}


def test_invalid_json_is_400_with_a_json_status(client: httpx.Client) -> None:
    """An invalid JSON body gets 400 and a google.rpc.Status in JSON."""
    response = client.post("/v1/logs", content=b"{oops", headers=JSON)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 3
    assert "not a valid OTLP/JSON" in response.json()["message"]


def test_invalid_gzip_is_400(client: httpx.Client) -> None:
    """A body that claims gzip but is not gzip gets 400."""
    headers = {**PROTOBUF, "Content-Encoding": "gzip"}

    response = client.post("/v1/traces", content=b"plain", headers=headers)

    assert response.status_code == 400


def test_wrong_path_is_404_and_wrong_method_is_405(client: httpx.Client) -> None:
    """Unknown paths get 404; other methods than POST on an OTLP path get 405."""
    assert client.post("/v1/spans", content=b"", headers=PROTOBUF).status_code == 404
    response = client.get("/v1/metrics")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_oversized_and_overinflating_bodies_are_413(store: TelemetryStore) -> None:
    """A body over the size cap, or one that inflates past its cap, gets 413."""
    server = OtlpHttpServer(
        store, "127.0.0.1", 0, max_body_bytes=1024, max_decompressed_bytes=4096
    )
    server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/v1/traces"
        big = httpx.post(url, content=b"\0" * 2048, headers=PROTOBUF)
        bomb = gzip.compress(b"\0" * 100_000)
        inflating = httpx.post(
            url, content=bomb, headers={**PROTOBUF, "Content-Encoding": "gzip"}
        )
    finally:
        server.stop()

    assert len(bomb) < 1024
    assert (big.status_code, inflating.status_code) == (413, 413)
    assert "limit of 1024 bytes" in Status.FromString(big.content).message


def test_chunked_body_is_read(client: httpx.Client, store: TelemetryStore) -> None:
    """A body sent with chunked transfer encoding is accepted."""
    body = trace_request(spans=2).SerializeToString()

    response = client.post(
        "/v1/traces", content=iter([body[:10], body[10:]]), headers=PROTOBUF
    )

    assert response.status_code == 200
    assert len(store.spans()) == 2


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
def test_full_store_answers_partial_success(encoding: str) -> None:
    """Spans dropped by a full store are reported in partial_success."""
    store = TelemetryStore(capacity=2)
    body = trace_request(spans=5).SerializeToString()
    with OtlpReceiver(store, "127.0.0.1:0", grpc_address=None) as receiver:
        url = f"{receiver.http_endpoint}/v1/traces"
        if encoding == "json":
            spans: list[dict[str, str]] = [{}] * 5
            document = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
            response = httpx.post(url, json=document)
        else:
            response = httpx.post(url, content=body, headers=PROTOBUF)

    assert response.status_code == 200
    if encoding == "json":
        partial = response.json()["partialSuccess"]
        assert int(partial["rejectedSpans"]) == 3
        message = partial["errorMessage"]
    else:
        reply = ExportTraceServiceResponse.FromString(response.content)
        assert reply.partial_success.rejected_spans == 3
        message = reply.partial_success.error_message
    assert "store is full" in message
    assert store.dropped["spans"] == 3


def test_keep_alive_connection_serves_many_exports(
    client: httpx.Client, store: TelemetryStore
) -> None:
    """One client connection can send export after export (HTTP/1.1 keep-alive)."""
    body = trace_request().SerializeToString()

    responses = [
        client.post("/v1/traces", content=body, headers=PROTOBUF) for _ in range(20)
    ]

    assert {response.status_code for response in responses} == {200}
    assert len(store.spans()) == 20
