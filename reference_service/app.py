"""Application factory: wires settings, database, health, routes and middleware.

Nothing is built at import time; `create_app()` reads settings when called, so
tests and copies of this template can pass their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from fastapi import FastAPI

from reference_service import __version__
from reference_service.api import api_router
from reference_service.database import OrdersRepository
from reference_service.errors import error_responses, install_error_handlers
from reference_service.health import CallablePinger, Health
from reference_service.health import router as health_router
from reference_service.middleware import (
    AccessLogMiddleware,
    ErrorMiddleware,
    SecurityHeadersMiddleware,
)
from reference_service.openapi import check_security_declared, install_openapi
from reference_service.settings import Settings, get_settings

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the database before serving; on shutdown, go unready, then close."""
    repository = cast(OrdersRepository, app.state.repository)
    health = cast(Health, app.state.health)

    settings = cast(Settings, app.state.settings)
    if settings.jwt_secret_is_short:
        logger.warning(
            "JWT_SECRET is shorter than 32 characters; HS256 wants 256-bit keys",
        )

    await repository.open()
    health.mark_ready()
    logger.info("service started", extra={"version": __version__})
    try:
        yield
    finally:
        health.begin_shutdown()
        await repository.close()
        logger.info("service stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; `settings` defaults to the environment's."""
    settings = settings if settings is not None else get_settings()
    repository = OrdersRepository(settings.database_path)
    health = Health(
        version=__version__,
        pingers=[CallablePinger("database", repository.ping)],
    )

    app = FastAPI(
        title=settings.service_name,
        version=__version__,
        description="Orders and users, secured the way the production guide shows.",
        lifespan=lifespan,
        responses=error_responses(),
    )
    app.state.settings = settings
    app.state.repository = repository
    app.state.health = health

    app.include_router(health_router)
    app.include_router(api_router)
    install_error_handlers(app)

    # add_middleware puts each new one outside the previous: the access log
    # is outermost and sees the final status and headers of every answer.
    app.add_middleware(ErrorMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(AccessLogMiddleware)

    install_openapi(app)
    check_security_declared(app)
    return app
