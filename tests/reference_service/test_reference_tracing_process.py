"""Tracing of the real process: OTLP export, one server span each, flush on SIGTERM."""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_service import __version__
from tests.reference_service.servers import (
    LOOPBACK,
    OtlpCollector,
    ReceivedSpan,
    free_port,
)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
UNSAMPLED_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "00f067aa0ba902b7"
SERVER = 2  # SPAN_KIND_SERVER in the OTLP protobuf


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    with OtlpCollector() as running:
        yield running


@pytest.fixture
def service(
    tmp_path: Path,
    collector: OtlpCollector,
    password: str,
    api_key: str,
    jwt_secret: str,
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The service exporting to the collector, the way the suite launches it.

    The batch delay is a minute, so spans reach the collector before the
    process ends only if shutdown flushes them.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        HTTP_ADDR=f"{LOOPBACK}:{port}",
        DATABASE_URL=f"sqlite:///{tmp_path}/orders.db",
        BASIC_AUTH_PASSWORD=password,
        API_KEYS=api_key,
        JWT_SECRET=jwt_secret,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_LOGS_EXPORTER="otlp",
        OTEL_BSP_SCHEDULE_DELAY="60000",
        OTEL_METRIC_EXPORT_INTERVAL="1000",
    )
    env.pop("INVENTORY_URL", None)
    stdout = (tmp_path / "stdout.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_service"],
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
        stdout.close()


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=2.0)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "nothing"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"service exited early with code {process.returncode}")
        try:
            status = _get(port, "/readyz")
        except OSError as exc:
            last = repr(exc)
        else:
            if status == 200:
                return
            last = str(status)
        time.sleep(0.1)
    pytest.fail(f"/readyz not 200 within {START_TIMEOUT} s; last answer: {last}")


def _server_spans(spans: list[ReceivedSpan], trace_id: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.trace_id == trace_id and s.span.kind == SERVER]


def test_spans_reach_the_collector_on_sigterm_one_per_request(
    service: tuple[subprocess.Popen[bytes], int],
    collector: OtlpCollector,
    password: str,
    tmp_path: Path,
) -> None:
    """Requests served before SIGTERM arrive with the resource, one SERVER span each."""
    process, port = service
    _wait_ready(process, port)
    basic = base64.b64encode(f"admin:{password}".encode()).decode()
    auth = {"Authorization": f"Basic {basic}"}

    sampled = f"00-{TRACE_ID}-{PARENT_ID}-01"
    assert _get(port, "/users/public", {"traceparent": sampled}) == 200
    assert _get(port, "/orders/" + "a" * 32, auth) == 404
    assert _get(port, "/orders/" + "b" * 32, auth) == 404
    unsampled = f"00-{UNSAMPLED_TRACE_ID}-{PARENT_ID}-00"
    assert _get(port, "/users/public", {"traceparent": unsampled}) == 200

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_TIMEOUT) == 0

    spans = collector.wait_for(lambda got: bool(_server_spans(got, TRACE_ID)))
    [public] = _server_spans(spans, TRACE_ID)
    assert public.span.name == "GET /users/public"
    assert public.parent_span_id == PARENT_ID
    assert public.resource["service.name"] == "reference-service"
    assert public.resource["service.version"] == __version__
    assert _server_spans(spans, UNSAMPLED_TRACE_ID) == []
    # FastAPI's own instrumentation is off: no second server span, no extras.
    assert not [s for s in spans if s.span.name.startswith("fastapi")]
    by_trace: dict[str, int] = {}
    for span in spans:
        if span.span.kind == SERVER:
            by_trace[span.trace_id] = by_trace.get(span.trace_id, 0) + 1
    assert set(by_trace.values()) == {1}
    orders = [s for s in spans if str(s.attributes.get("url.path")).startswith("/o")]
    assert [s.span.name for s in orders] == ["GET /orders/{order_id}"] * 2
    assert orders[0].trace_id != orders[1].trace_id

    lines = (tmp_path / "stdout.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    [access] = [
        e
        for e in entries
        if e.get("http.path") == "/users/public" and e.get("trace_id") == TRACE_ID
    ]
    assert access["span_id"] == public.span_id
