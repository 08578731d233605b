"""The receiver's life cycle: binding, endpoints, errors that name the option, env."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from conformance.errors import UsageError
from conformance.launcher import free_port
from conformance.telemetry.receiver import OtlpReceiver, parse_address
from conformance.telemetry.store import TelemetryStore


@pytest.fixture
def occupied() -> Iterator[int]:
    """A loopback port some other program is listening on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_port_zero_gives_free_ports_and_endpoints() -> None:
    """Port 0 picks free ports, shown as loopback endpoints once started."""
    with OtlpReceiver(TelemetryStore(), "127.0.0.1:0", "127.0.0.1:0") as receiver:
        http_port = int(receiver.http_endpoint.rsplit(":", 1)[1])
        grpc_port = int(receiver.grpc_endpoint.rsplit(":", 1)[1])

        assert receiver.http_endpoint == f"http://127.0.0.1:{http_port}"
        assert receiver.grpc_endpoint == f"127.0.0.1:{grpc_port}"
        assert 0 not in (http_port, grpc_port)


def test_http_port_in_use_is_a_usage_error_naming_the_option(occupied: int) -> None:
    """A taken HTTP port raises UsageError naming the option and the way out."""
    receiver = OtlpReceiver(
        TelemetryStore(), f"127.0.0.1:{occupied}", None, http_option="--otlp-http"
    )

    with pytest.raises(UsageError) as caught:
        receiver.start()

    assert str(caught.value) == (
        f"--otlp-http 127.0.0.1:{occupied} is in use; pass --otlp-http 127.0.0.1:0 "
        "for any free port or stop the other collector"
    )


def test_grpc_port_in_use_is_a_usage_error_and_leaves_nothing_bound(
    occupied: int,
) -> None:
    """A taken gRPC port raises UsageError naming its option; HTTP is released."""
    http_port = free_port()
    receiver = OtlpReceiver(
        TelemetryStore(), f"127.0.0.1:{http_port}", f"127.0.0.1:{occupied}"
    )

    with pytest.raises(
        UsageError, match=f"^--otlp-grpc 127.0.0.1:{occupied} is in use"
    ):
        receiver.start()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", http_port))


@pytest.mark.parametrize("text", ["4318", "localhost", "127.0.0.1:http", "h:70000"])
def test_malformed_address_is_a_usage_error(text: str) -> None:
    """An address without a numeric port is refused, naming the option."""
    with pytest.raises(UsageError, match=f"^--otlp-http {text!r} is not a host:port"):
        parse_address(text, "--otlp-http")


def test_ipv6_address_parses_and_brackets_in_endpoints() -> None:
    """An IPv6 address in brackets parses; endpoints put the brackets back."""
    assert parse_address("[::1]:4318", "--otlp-http") == ("::1", 4318)
    try:
        receiver = OtlpReceiver(TelemetryStore(), "[::1]:0", None).start()
    except UsageError:
        pytest.skip("this machine has no IPv6 loopback")
    try:
        assert receiver.http_endpoint.startswith("http://[::1]:")
    finally:
        receiver.stop()


def test_exporter_env_points_at_the_receiver_without_naming_the_service() -> None:
    """The exporter env targets our HTTP endpoint and never sets the service name."""
    with OtlpReceiver(TelemetryStore(), "127.0.0.1:0", None) as receiver:
        env = receiver.exporter_env()
        endpoint = receiver.http_endpoint

    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == endpoint
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert {env[f"OTEL_{s}_EXPORTER"] for s in ("TRACES", "METRICS", "LOGS")} == {
        "otlp"
    }
    assert env["OTEL_BSP_SCHEDULE_DELAY"] == "200"
    assert "OTEL_SERVICE_NAME" not in env
    assert "OTEL_RESOURCE_ATTRIBUTES" not in env


def test_endpoints_before_start_say_what_to_do() -> None:
    """Asking a stopped receiver for its endpoint says to start it."""
    receiver = OtlpReceiver(TelemetryStore(), "127.0.0.1:0", None)

    with pytest.raises(RuntimeError, match="call start"):
        _ = receiver.http_endpoint


def test_stop_is_bounded_and_releases_the_ports() -> None:
    """stop() returns quickly and frees both ports for reuse."""
    receiver = OtlpReceiver(TelemetryStore(), "127.0.0.1:0", "127.0.0.1:0").start()
    grpc_target = receiver.grpc_endpoint
    http_port = int(receiver.http_endpoint.rsplit(":", 1)[1])
    with grpc.insecure_channel(grpc_target) as channel:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=ExportTraceServiceRequest.SerializeToString,
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        export(ExportTraceServiceRequest(), timeout=5)

    started = time.monotonic()
    receiver.stop()

    assert time.monotonic() - started < 3
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", http_port))
    assert receiver.store.requests == {("traces", "grpc"): 1}
