"""Telemetry set-up: when to export, the resource, a bounded shutdown, log ids."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Sequence

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind

from reference_service import __version__
from reference_service.log_config import configure_logging
from reference_service.settings import Settings
from reference_service.telemetry import create_telemetry, otlp_export_wanted

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        (ENDPOINT, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "true"}, False),
        ({**ENDPOINT, "OTEL_SDK_DISABLED": "false"}, True),
        ({**ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, True),
        ({**ENDPOINT, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, False),
        ({**ENDPOINT, "OTEL_TRACES_EXPORTER": "zipkin"}, False),
        ({**ENDPOINT, "OTEL_METRICS_EXPORTER": "none"}, True),
    ],
)
def test_traces_are_exported_only_when_the_environment_asks(
    environ: dict[str, str], wanted: bool
) -> None:
    """An OTLP endpoint turns export on; SDK disabled or exporter none turn it off."""
    assert otlp_export_wanted("TRACES", environ) is wanted


def test_resource_names_the_service_and_its_version(settings: Settings) -> None:
    """service.name comes from SERVICE_NAME and service.version from __version__."""
    named = settings.model_copy(update={"service_name": "orders-eu"})
    telemetry = create_telemetry(named)

    attributes = telemetry.tracer_provider.resource.attributes
    assert attributes["service.name"] == "orders-eu"
    assert attributes["service.version"] == __version__
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


class StuckExporter(SpanExporter):
    """An exporter whose collector never answers."""

    def __init__(self) -> None:
        self.released = threading.Event()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.released.wait(10)
        return SpanExportResult.FAILURE


@pytest.mark.anyio
async def test_shutdown_gives_up_after_its_timeout(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A collector that hangs delays shutdown by the timeout only, with a warning."""
    exporter = StuckExporter()
    telemetry = create_telemetry(settings, [BatchSpanProcessor(exporter)])
    telemetry.tracer_provider.get_tracer("test").start_span("pending").end()

    started = time.monotonic()
    await telemetry.shutdown(timeout=0.2)

    assert time.monotonic() - started < 1.0
    assert "not flushed" in caplog.text
    exporter.released.set()


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    """The app with one public route that raises."""

    @app.get("/boom", openapi_extra={"security": []})
    async def boom() -> dict[str, str]:
        msg = "boom"
        raise RuntimeError(msg)

    return app


@pytest.mark.anyio
async def test_log_lines_of_a_request_carry_its_trace_and_span_ids(
    failing_app: FastAPI,
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
) -> None:
    """The access line and the error traceback carry the server span's ids."""
    stream = io.StringIO()
    configure_logging("info", stream)
    logging.getLogger("outside").info("no request here")

    await client.get("/boom")

    [server] = [
        s for s in span_exporter.get_finished_spans() if s.kind is SpanKind.SERVER
    ]
    ids = {
        "trace_id": f"{server.context.trace_id:032x}",
        "span_id": f"{server.context.span_id:016x}",
    }
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    outside, *during = entries
    assert "trace_id" not in outside
    error = next(e for e in during if e["level"] == "error")
    access = next(e for e in during if e["logger"] == "reference_service.access")
    assert "RuntimeError: boom" in error["traceback"]
    assert {key: error[key] for key in ids} == ids
    assert {key: access[key] for key in ids} == ids
