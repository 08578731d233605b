"""How many spans per second the OTLP receiver ingests, over HTTP and over gRPC.

A client process pre-encodes batches of 512 spans once, then posts them one after the
other over a single connection; the clock runs from the first send until the store
holds every span. Each transport is measured several times and the median is shown,
because a shared machine is noisy. Run it as ``python bench/receiver_ingest.py``.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import statistics
import time
from multiprocessing.connection import Connection
from typing import Final

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from conformance.telemetry.receiver import OtlpReceiver
from conformance.telemetry.store import TelemetryStore

BATCH_SPANS: Final = 512
SPANS_PER_TRACE: Final = 8
GOAL_SPANS_PER_S: Final = 50_000
EXPORT_PATH: Final = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
WAIT_S: Final = 120.0


def _attribute(key: str, value: str | int) -> KeyValue:
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def encode_batches(batches: int) -> list[bytes]:
    """Batches of server spans shaped like an instrumented web service's."""
    bodies = []
    for _ in range(batches):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(
            [_attribute("service.name", "orders"), _attribute("service.version", "1")]
        )
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "opentelemetry.instrumentation.asgi"
        for index in range(BATCH_SPANS):
            if index % SPANS_PER_TRACE == 0:
                trace_id = os.urandom(16)
            span = scope_spans.spans.add(
                trace_id=trace_id,
                span_id=os.urandom(8),
                parent_span_id=os.urandom(8),
                name="GET /orders/{id}",
                kind=2,
                start_time_unix_nano=1_700_000_000_000_000_000,
                end_time_unix_nano=1_700_000_000_004_000_000,
            )
            span.attributes.extend(
                [
                    _attribute("http.request.method", "GET"),
                    _attribute("url.path", f"/orders/{index}"),
                    _attribute("url.scheme", "http"),
                    _attribute("http.route", "/orders/{id}"),
                    _attribute("http.response.status_code", 200),
                    _attribute("server.address", "127.0.0.1"),
                    _attribute("server.port", 8000),
                    _attribute("user_agent.original", "bench"),
                ]
            )
        bodies.append(request.SerializeToString())
    return bodies


def client(transport: str, target: str, batches: int, control: Connection) -> None:
    """Encode first, say ready, then send every batch when told to go."""
    bodies = encode_batches(batches)
    if transport == "http":
        host, port = target.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"Content-Type": "application/x-protobuf"}
        control.send("ready")
        while control.recv() == "go":
            for body in bodies:
                connection.request("POST", "/v1/traces", body, headers)
                response = connection.getresponse()
                response.read()
                assert response.status == 200, response.status
            control.send("sent")
        connection.close()
        return

    with grpc.insecure_channel(target) as channel:
        export: grpc.UnaryUnaryMultiCallable[bytes, ExportTraceServiceResponse]
        export = channel.unary_unary(
            EXPORT_PATH,
            request_serializer=None,  # the bodies are already encoded
            response_deserializer=ExportTraceServiceResponse.FromString,
        )
        export(bodies[0], timeout=30)  # connect before the clock starts
        control.send("ready")
        while control.recv() == "go":
            for body in bodies:
                export(body, timeout=30)
            control.send("sent")


def measure(
    receiver: OtlpReceiver, transport: str, batches: int, runs: int
) -> list[float]:
    """Spans per second of each run, with the store cleared between runs."""
    store = receiver.store
    if transport == "http":
        target = receiver.http_endpoint.removeprefix("http://")
    else:
        target = receiver.grpc_endpoint
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=client, args=(transport, target, batches, theirs), daemon=True
    )
    process.start()
    rates = []
    try:
        if not ours.poll(WAIT_S) or ours.recv() != "ready":
            raise SystemExit(f"the {transport} client did not start")
        total = batches * BATCH_SPANS
        for _ in range(runs):
            store.clear()
            started = time.perf_counter()
            ours.send("go")
            result = store.wait_for_spans(bool, count=total, timeout_s=WAIT_S)
            elapsed = time.perf_counter() - started
            ours.recv()
            if not result.satisfied or any(store.dropped.values()):
                raise SystemExit(f"{transport}: {result.describe()}")
            rates.append(total / elapsed)
        ours.send("stop")
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100, help="batches per run")
    parser.add_argument("--runs", type=int, default=5, help="runs per transport")
    options = parser.parse_args()

    store = TelemetryStore(capacity=options.batches * BATCH_SPANS)
    table = []
    with OtlpReceiver(store, "127.0.0.1:0", "127.0.0.1:0") as receiver:
        for transport in ("http", "grpc"):
            rates = measure(receiver, transport, options.batches, options.runs)
            table.append((transport, rates))

    spans = options.batches * BATCH_SPANS
    print(f"{spans} spans per run in batches of {BATCH_SPANS}, {options.runs} runs")
    print(f"{'transport':<10}{'median/s':>12}{'min/s':>12}{'max/s':>12}  goal")
    for transport, rates in table:
        median = statistics.median(rates)
        verdict = "met" if median >= GOAL_SPANS_PER_S else "MISSED"
        print(
            f"{transport:<10}{median:>12,.0f}{min(rates):>12,.0f}"
            f"{max(rates):>12,.0f}  {verdict}"
        )


if __name__ == "__main__":
    main()
