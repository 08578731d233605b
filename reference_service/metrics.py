"""Request and business metrics, exported over OTLP and exposed on `/metrics`.

Every request is recorded once, by `middleware.RequestRecordMiddleware`, in the
OpenTelemetry instrument `http.server.request.duration` (seconds, labelled by
method, route template and status) and in its Prometheus twin
`http_server_request_duration_seconds`. Routes are the matched templates
(`/orders/{order_id}`), and every request that matched no route shares the one
label value `unmatched`, so neither ids nor scanners' random paths can grow
the number of series.

Why two recorders rather than the OTel Prometheus exporter: prometheus_client
is the Prometheus project's own library, so its exposition is exactly what
`promtool check metrics` and Prometheus expect, and an observation costs about
a microsecond. The OTel instruments are fed only when something reads them (an
OTLP exporter configured through the OTEL_* variables, or providers a test
passes in), so a service scraped by Prometheus alone pays for one recorder.
"""

from __future__ import annotations

from typing import Annotated, Final, cast

from fastapi import APIRouter, Depends, Request, Response
from opentelemetry import metrics as otel
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder

# Resolve both 5 ms and 5 s: OpenTelemetry's advised boundaries for
# http.server.request.duration, used for every latency histogram here.
DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
UNMATCHED_ROUTE: Final = "unmatched"
METRICS_PATH: Final = "/metrics"
_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"},
)
_LABELS = ("http_request_method", "http_route", "http_response_status_code")


class ServiceMetrics:
    """The service's instruments, in a registry of its own (not the global one).

    A registry per app keeps tests and several apps in one process apart.
    `meter_provider` is None when nothing would read OpenTelemetry metrics.
    """

    def __init__(self, meter_provider: otel.MeterProvider | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests, by route template.",
            _LABELS,
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._orders = Counter(
            "orders",
            "Orders created, by order type.",
            ("type",),
            registry=self.registry,
        )
        self._order_latency = Histogram(
            "order_latency_seconds",
            "Time taken to reserve stock for and store one order.",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self._otel = _OtelInstruments(meter_provider) if meter_provider else None

    def record_request(
        self, method: str, route: str | None, status: int, seconds: float
    ) -> None:
        method = method if method in _KNOWN_METHODS else "_OTHER"
        route = route or UNMATCHED_ROUTE
        self._requests.labels(method, route, str(status)).observe(seconds)
        if self._otel is not None:
            self._otel.request(method, route, status, seconds)

    def record_order(self, order_type: str, seconds: float) -> None:
        self._orders.labels(order_type).inc()
        self._order_latency.observe(seconds)
        if self._otel is not None:
            self._otel.order(order_type, seconds)


class _OtelInstruments:
    """The same measurements under OpenTelemetry's names and units."""

    def __init__(self, provider: otel.MeterProvider) -> None:
        meter = provider.get_meter("reference_service")
        boundaries = list(DURATION_BUCKETS)
        self.duration = meter.create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=boundaries,
        )
        self.orders = meter.create_counter(
            "orders", unit="{order}", description="Orders created, by order type."
        )
        self.order_latency = meter.create_histogram(
            "order.latency",
            unit="s",
            description="Time taken to reserve stock for and store one order.",
            explicit_bucket_boundaries_advisory=boundaries,
        )

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.duration.record(
            seconds,
            {
                "http.request.method": method,
                "http.route": route,
                "http.response.status_code": status,
            },
        )

    def order(self, order_type: str, seconds: float) -> None:
        self.orders.add(1, {"type": order_type})
        self.order_latency.record(seconds)


def get_metrics(request: Request) -> ServiceMetrics:
    """The app's metrics, created in `create_app`."""
    return cast(ServiceMetrics, request.app.state.metrics)


AppMetrics = Annotated[ServiceMetrics, Depends(get_metrics)]

router = APIRouter(tags=["metrics"])


@router.get(METRICS_PATH, include_in_schema=False)
async def exposition(request: Request, metrics: AppMetrics) -> Response:
    """Prometheus text format, or OpenMetrics when the scraper asks for it."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encode(metrics.registry), media_type=content_type)
