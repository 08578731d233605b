"""Application factory: wires settings, telemetry, dependencies, routes, middleware.

Nothing is built at import time; `create_app()` reads settings when called, so
tests and copies of this template can pass their own, and telemetry providers
are created by the lifespan, not on import.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from fastapi import FastAPI
from opentelemetry import metrics as otel_metrics

from reference_service import __version__
from reference_service.api import API_ROUTERS
from reference_service.database import OrdersRepository
from reference_service.debug import router as debug_router
from reference_service.errors import error_responses, install_error_handlers
from reference_service.health import PING_TIMEOUT, CallablePinger, Health, Pinger
from reference_service.health import router as health_router
from reference_service.inventory import InventoryClient
from reference_service.metrics import ServiceMetrics
from reference_service.metrics import router as metrics_router
from reference_service.middleware import (
    ErrorMiddleware,
    RequestRecordMiddleware,
    SecurityHeadersMiddleware,
)
from reference_service.oauth import OAuthServer
from reference_service.openapi import check_security_declared, install_openapi
from reference_service.postgres import PostgresOrdersRepository, is_postgres_url
from reference_service.rate_limit import FailureLimiter
from reference_service.settings import Settings, get_settings
from reference_service.telemetry import (
    NATIVE_TELEMETRY_OFF,
    Telemetry,
    get_tracer,
    otlp_export_wanted,
    start_telemetry,
)
from reference_service.tracing_middleware import TracingMiddleware
from reference_service.transport_security import (
    StrictTransportSecurityMiddleware,
    install_cors,
)

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start telemetry and dependencies; on shutdown, go unready, close, flush."""
    repository = cast(OrdersRepository, app.state.repository)
    inventory = cast(InventoryClient | None, app.state.inventory)
    health = cast(Health, app.state.health)
    settings = cast(Settings, app.state.settings)

    # Telemetry passed to create_app belongs to the caller; otherwise this
    # lifespan owns the process's global providers and flushes them last.
    given = cast(Telemetry | None, app.state.telemetry)
    telemetry = start_telemetry(settings) if given is None else None

    if settings.jwt_secret_is_short:
        logger.warning(
            "JWT_SECRET is shorter than 32 characters; HS256 wants 256-bit keys",
        )

    await repository.open()
    if inventory is not None:
        inventory.open()
    health.mark_ready()
    logger.info("service started", extra={"version": __version__})
    try:
        yield
    finally:
        health.begin_shutdown()
        try:
            if inventory is not None:
                await inventory.close()
            await repository.close()
            logger.info("service stopped")
        finally:
            if telemetry is not None:
                await telemetry.shutdown()


def create_app(
    settings: Settings | None = None,
    telemetry: Telemetry | None = None,
) -> FastAPI:
    """Build the service; `settings` defaults to the environment's.

    Without `telemetry` the lifespan creates the global providers from the
    OTEL_* variables; with it (tests, an embedding application) the app
    traces through those providers and leaves global state alone.
    """
    settings = settings if settings is not None else get_settings()
    tracer = get_tracer(telemetry.tracer_provider if telemetry else None)
    repository = (
        PostgresOrdersRepository(settings.database_url, settings.dependency_timeout)
        if is_postgres_url(settings.database_url)
        else OrdersRepository(settings.database_path)
    )
    pingers: list[Pinger] = [CallablePinger("database", repository.ping)]
    inventory = None
    if settings.inventory_url is not None:
        inventory = InventoryClient(
            settings.inventory_url,
            tracer=tracer,
            timeout=settings.dependency_timeout,
            ping_timeout=min(settings.dependency_timeout, PING_TIMEOUT),
        )
        pingers.append(CallablePinger("inventory", inventory.ping))
    health = Health(version=__version__, pingers=pingers)

    app = FastAPI(
        title=settings.service_name,
        version=__version__,
        description="Orders and users, secured the way the production guide shows.",
        lifespan=lifespan,
        responses=error_responses(),
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    app.state.settings = settings
    app.state.telemetry = telemetry
    app.state.tracer = tracer
    app.state.repository = repository
    app.state.inventory = inventory
    app.state.health = health
    # OTel instruments only when something reads them (see metrics.py).
    meter_provider = (
        telemetry.meter_provider
        if telemetry is not None
        else otel_metrics.get_meter_provider()
        if otlp_export_wanted("METRICS")
        else None
    )
    app.state.metrics = ServiceMetrics(meter_provider)
    app.state.auth_failures = FailureLimiter(
        settings.auth_failure_limit, settings.auth_failure_window
    )
    app.state.oauth = OAuthServer(settings)

    # Routes are matched in the order they are included: the API, which takes the
    # traffic, goes before the probes' and operators' endpoints.
    for router in (*API_ROUTERS, health_router, metrics_router, debug_router):
        app.include_router(router)
    install_error_handlers(app)

    # add_middleware puts each new one outside the previous: tracing is
    # outermost so every log line below it carries the trace id, and the
    # access log and metrics see the final status of every answer.
    app.add_middleware(ErrorMiddleware)
    install_cors(app, settings)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(StrictTransportSecurityMiddleware)
    app.add_middleware(RequestRecordMiddleware, metrics=app.state.metrics)
    app.add_middleware(TracingMiddleware, tracer=tracer)

    install_openapi(app)
    check_security_declared(app)
    return app
