"""OpenTelemetry set-up: providers, OTLP export, and a bounded flush at shutdown.

The lifespan calls `start_telemetry()` once: it builds a TracerProvider and a
MeterProvider for this service's resource (`service.name` from SERVICE_NAME,
`service.version` from `__version__`) and makes them the process's global
providers. Spans and metrics leave over OTLP/HTTP only when the standard
variables ask for it (an endpoint is set, the SDK is not disabled, the
exporter is not `none`); otherwise tracing still runs in process, so log lines
carry trace ids, and nothing is sent anywhere.

Shutdown flushes within `SHUTDOWN_TIMEOUT`. It must happen in the lifespan:
the server re-raises the stop signal once it is done, so neither code after
`run()` nor an `atexit` hook is certain to run. Like the SDK itself, nothing
here raises into request handling: a collector that is down costs log lines,
not answers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fastapi.telemetry import TelemetryConfig
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from reference_service import __version__
from reference_service.sampling import adaptive_sampler
from reference_service.settings import Settings

logger = logging.getLogger(__name__)

INSTRUMENTATION_NAME = "reference_service"
SHUTDOWN_TIMEOUT = 5.0
_INSTANCE_ID = "service.instance.id"
_INSTANCE = str(uuid.uuid4())

# FastAPI 0.165 traces requests itself (a SERVER span per request plus spans
# for dependencies, endpoint and serialization) as soon as a global provider
# exists, records metrics, and emits exception logs. Our tracing middleware
# owns the server span, so all of it is switched off; leaving it on would give
# every request two SERVER spans. `auto_configure` is off too, so the
# FASTAPI_OTEL_AUTO_CONFIGURE variable cannot add a second set of exporters.
NATIVE_TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "operation_spans": False,
    "metrics": False,
    "logs": False,
    "auto_configure": False,
}

Signal = Literal["TRACES", "METRICS"]


@dataclass(frozen=True, slots=True)
class Telemetry:
    """The providers a service exports through; the lifespan shuts them down."""

    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    async def shutdown(self, timeout: float = SHUTDOWN_TIMEOUT) -> None:
        """Flush what is buffered and stop exporting, giving up after `timeout`.

        The work runs on a daemon thread: an exporter retrying against a dead
        collector must neither block the event loop nor keep the process alive.
        """
        worker = threading.Thread(
            target=self._shutdown_now,
            args=(timeout,),
            name="telemetry-shutdown",
            daemon=True,
        )
        worker.start()
        await asyncio.to_thread(worker.join, timeout)
        if worker.is_alive():
            logger.warning(
                "telemetry was not flushed within the shutdown timeout",
                extra={"timeout_s": timeout},
            )

    def _shutdown_now(self, timeout: float) -> None:
        millis = int(timeout * 1000)
        steps = (
            ("flush spans", lambda: self.tracer_provider.force_flush(millis)),
            ("stop tracing", self.tracer_provider.shutdown),
            ("stop metrics", lambda: self.meter_provider.shutdown(millis)),
        )
        for step, call in steps:
            try:
                call()
            except Exception:
                logger.exception("telemetry shutdown failed", extra={"step": step})


def start_telemetry(settings: Settings) -> Telemetry:
    """Build the providers from the environment and make them the global ones."""
    telemetry = create_telemetry(settings)
    install_global(telemetry)
    return telemetry


def create_telemetry(
    settings: Settings,
    span_processors: Sequence[SpanProcessor] = (),
) -> Telemetry:
    """Providers for this service; global state is left alone.

    `span_processors` are added after the OTLP exporter, if any; tests pass an
    in-memory exporter here to read the spans without a collector.
    """
    resource = service_resource(settings)
    tracer_provider = TracerProvider(
        resource=resource,
        sampler=adaptive_sampler(
            settings.trace_sample_rate_per_s,
            settings.trace_sample_burst,
        ),
        shutdown_on_exit=False,
    )
    for processor in (*_otlp_span_processors(), *span_processors):
        tracer_provider.add_span_processor(processor)

    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=_otlp_metric_readers(),
        shutdown_on_exit=False,
    )
    return Telemetry(tracer_provider, meter_provider)


def install_global(telemetry: Telemetry) -> None:
    """Make the providers global; the API allows this once per process."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        logger.warning(
            "a global TracerProvider was already set; spans go to that one",
        )
    trace.set_tracer_provider(telemetry.tracer_provider)
    metrics.set_meter_provider(telemetry.meter_provider)


def get_tracer(provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """The service's tracer: from `provider`, or the global one once it is set."""
    return trace.get_tracer(INSTRUMENTATION_NAME, __version__, tracer_provider=provider)


def service_resource(settings: Settings) -> Resource:
    """The resource naming this service; OTEL_SERVICE_NAME may override the name.

    OTEL_RESOURCE_ATTRIBUTES adds attributes (a deployment environment, say).
    """
    name = os.environ.get("OTEL_SERVICE_NAME") or settings.service_name
    # service.instance.id tells this process's metric streams from those of its
    # replicas (OpenTelemetry semantic conventions: one id per running instance).
    return Resource.create(
        {SERVICE_NAME: name, SERVICE_VERSION: __version__, _INSTANCE_ID: _INSTANCE}
    )


def otlp_export_wanted(
    signal: Signal,
    environ: Mapping[str, str] = os.environ,
) -> bool:
    """Whether the standard OTEL_* variables ask to export `signal` over OTLP/HTTP."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False

    variable = f"OTEL_{signal}_EXPORTER"
    exporters = {
        name.strip().lower()
        for name in environ.get(variable, "otlp").split(",")
        if name.strip()
    } or {"otlp"}
    if "none" in exporters:
        return False
    endpoint = environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT") or environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if not endpoint:
        return False

    if exporters != {"otlp"}:
        logger.warning(
            "only the otlp exporter is supported; other exporters are ignored",
            extra={"variable": variable, "value": ",".join(sorted(exporters))},
        )
        if "otlp" not in exporters:
            return False
    protocol = (
        environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
        or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    if protocol.strip().lower() != "http/protobuf":
        logger.warning(
            "only the http/protobuf OTLP protocol is supported; not exporting",
            extra={"signal": signal.lower(), "protocol": protocol},
        )
        return False

    return True


def _otlp_span_processors() -> list[SpanProcessor]:
    if not otlp_export_wanted("TRACES"):
        return []

    # Imported here: a service that never exports does not load the exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    try:
        # Endpoint, headers, timeout and compression come from OTEL_* variables,
        # and so do the batch processor's delay and sizes (OTEL_BSP_*).
        return [BatchSpanProcessor(OTLPSpanExporter())]
    except Exception:
        logger.exception("cannot create the OTLP span exporter; spans stay local")
        return []


def _otlp_metric_readers() -> list[MetricReader]:
    if not otlp_export_wanted("METRICS"):
        return []

    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter,
    )
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    try:
        # The interval comes from OTEL_METRIC_EXPORT_INTERVAL.
        return [PeriodicExportingMetricReader(OTLPMetricExporter())]
    except Exception:
        logger.exception("cannot create the OTLP metric exporter; metrics stay local")
        return []
