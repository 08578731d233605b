"""Fixtures for the reference service: clean settings, an app, a client, spans."""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from reference_service.app import create_app
from reference_service.settings import Settings, get_settings
from reference_service.telemetry import Telemetry, create_telemetry

PASSWORD = "reference-test-password-3c9e"
API_KEY = "reference-test-key-71ab"
JWT_SECRET = "reference-test-jwt-secret-0f4d8b2a6e1c"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hide the machine's own settings variables and the cached settings."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name in os.environ:
        if name.startswith(("OTEL_", "FASTAPI_OTEL_")):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def no_global_tracer_provider() -> Iterator[None]:
    """Fail a test that leaves a global TracerProvider behind for later tests."""
    yield
    provider = trace.get_tracer_provider()
    assert isinstance(provider, trace.ProxyTracerProvider), provider


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put back the logging configuration a test may have changed."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.handlers[:], logger.level, logger.propagate)
    with warnings.catch_warnings():
        yield
    logging.captureWarnings(False)
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


@pytest.fixture
def password() -> str:
    """The Basic password of the test settings (user: admin)."""
    return PASSWORD


@pytest.fixture
def api_key() -> str:
    """One of the two API keys of the test settings."""
    return API_KEY


@pytest.fixture
def jwt_secret() -> str:
    """The HS256 secret of the test settings."""
    return JWT_SECRET


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/orders.db",
        basic_auth_password=PASSWORD,
        api_keys=f"{API_KEY},another-key",
        jwt_secret=JWT_SECRET,
    )


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    """Collects the spans the app's own TracerProvider finishes."""
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(
    settings: Settings, span_exporter: InMemorySpanExporter
) -> Iterator[Telemetry]:
    """The service's providers, sampler included, exporting to memory only."""
    local = create_telemetry(settings, [SimpleSpanProcessor(span_exporter)])
    yield local
    local.tracer_provider.shutdown()
    local.meter_provider.shutdown()


@pytest.fixture
def app(settings: Settings, telemetry: Telemetry) -> FastAPI:
    return create_app(settings, telemetry)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client talking to the app in process, with its lifespan running."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


TokenFactory = Callable[..., str]


@pytest.fixture
def make_token() -> TokenFactory:
    """Builds HS256 tokens signed with the test secret."""
    return _make_token


def _make_token(
    scopes: str | list[str] | None = None,
    *,
    expires_in: float = 60,
    secret: str = JWT_SECRET,
    **claims: Any,
) -> str:
    """An HS256 token for the test secret, valid for `expires_in` seconds."""
    payload: dict[str, Any] = {"sub": "tester", "exp": int(time.time() + expires_in)}
    if isinstance(scopes, str):
        payload["scope"] = scopes
    elif scopes is not None:
        payload["scopes"] = scopes
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")
