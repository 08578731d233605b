"""The two services the reference is compared with, serving the very same route.

`python bench/overhead_apps.py bare|standard|standard-tuned` serves one of them:

- ``bare``: the reference's orders routes (same handler, same Basic check, same
  SQLite repository) in a plain FastAPI app, with no middleware and no telemetry;
- ``standard``: the bare app plus what most services do, the OpenTelemetry SDK with
  OTLP exporters configured from the OTEL_* variables and the standard FastAPI
  instrumentation with its defaults;
- ``standard-tuned``: the standard set-up with its per-message internal spans off and
  5 % parent-based sampling.

All of them run under the reference's own server (uvicorn with its added timeouts) in
one process, so the benchmark compares telemetry and middleware, nothing else.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased

from reference_service.api.routes.orders import router as orders_router
from reference_service.database import OrdersRepository
from reference_service.health import Health
from reference_service.metrics import ServiceMetrics
from reference_service.rate_limit import FailureLimiter
from reference_service.server import serve
from reference_service.settings import Settings, get_settings
from reference_service.telemetry import NATIVE_TELEMETRY_OFF

TUNED_SAMPLE_RATIO = 0.05


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    repository: OrdersRepository = app.state.repository
    await repository.open()
    app.state.health.mark_ready()
    try:
        yield
    finally:
        await repository.close()


def bare_app(settings: Settings) -> FastAPI:
    """The reference's orders routes and the state they read, nothing more."""
    app = FastAPI(lifespan=_lifespan, telemetry=NATIVE_TELEMETRY_OFF)
    app.state.settings = settings
    app.state.repository = OrdersRepository(settings.database_path)
    app.state.inventory = None
    app.state.tracer = trace.NoOpTracer()
    app.state.metrics = ServiceMetrics(None)
    app.state.health = Health(version="bench", pingers=[])
    app.state.auth_failures = FailureLimiter(
        settings.auth_failure_limit, settings.auth_failure_window
    )
    app.include_router(orders_router)
    return app


def standard_app(settings: Settings, sampler: Sampler | None = None) -> FastAPI:
    """The bare app instrumented the way the OpenTelemetry documentation shows."""
    resource = Resource.create({"service.name": "bench-standard"})
    tracer_provider = TracerProvider(resource=resource, sampler=sampler)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[PeriodicExportingMetricReader(OTLPMetricExporter())],
    )

    app = bare_app(settings)
    app.state.tracer = tracer_provider.get_tracer("bench")
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        exclude_spans=["receive", "send"] if sampler is not None else None,
    )
    return app


def main(variant: str) -> int:
    """Serve `variant` with the settings the environment gives, like the reference."""
    settings = get_settings()
    if variant == "bare":
        app = bare_app(settings)
    elif variant == "standard":
        app = standard_app(settings)
    elif variant == "standard-tuned":
        app = standard_app(settings, ParentBased(TraceIdRatioBased(TUNED_SAMPLE_RATIO)))
    else:
        print(f"unknown variant {variant!r}", file=sys.stderr)
        return 2
    return serve(app, settings)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
