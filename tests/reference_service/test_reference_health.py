"""Health, liveness and readiness: shape, failures, time bound, shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from reference_service.health import CallablePinger, Health

pytestmark = pytest.mark.anyio


@pytest.fixture
async def cold_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app whose lifespan has not run (still starting)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_healthz_reports_uptime_version_and_database(
    client: httpx.AsyncClient,
) -> None:
    """/healthz answers 200 in the guide's shape with the database OK."""
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == {
        "uptime": body["uptime"],
        "version": "0.1.0",
        "status": {"database": "OK"},
    }
    assert isinstance(body["uptime"], int)


async def test_failed_database_makes_health_and_readiness_503(
    client: httpx.AsyncClient,
    app: FastAPI,
) -> None:
    """A database that cannot answer is NOT OK with 503, and health recovers with it."""
    await app.state.repository.close()

    health = await client.get("/healthz")
    ready = await client.get("/readyz")
    live = await client.get("/livez")

    assert health.status_code == 503
    assert health.json()["status"] == {"database": "NOT OK"}
    assert ready.status_code == 503
    assert ready.json() == {"status": "NOT OK", "reason": "dependency not OK: database"}
    assert live.status_code == 200

    await app.state.repository.open()
    assert (await client.get("/healthz")).status_code == 200


async def test_a_hanging_dependency_does_not_delay_health(
    client: httpx.AsyncClient,
    app: FastAPI,
) -> None:
    """Each ping has its own timeout, so health answers within a second regardless."""

    async def hang() -> None:
        await asyncio.sleep(30)

    health: Health = app.state.health
    health.pingers = [*health.pingers, CallablePinger("inventory", hang)]

    started = time.monotonic()
    response = await client.get("/healthz")
    elapsed = time.monotonic() - started

    assert elapsed < 1.0
    assert response.status_code == 503
    assert response.json()["status"] == {"database": "OK", "inventory": "NOT OK"}


async def test_readiness_fails_during_shutdown_while_liveness_holds(
    client: httpx.AsyncClient,
    app: FastAPI,
) -> None:
    """Once shutdown begins /readyz answers 503 and /livez still 200."""
    assert (await client.get("/readyz")).json() == {"status": "OK"}

    app.state.health.begin_shutdown()
    ready = await client.get("/readyz")
    live = await client.get("/livez")

    assert ready.status_code == 503
    assert ready.json() == {"status": "NOT OK", "reason": "shutting down"}
    assert live.status_code == 200
    assert live.json() == {"status": "OK"}


async def test_readiness_waits_for_startup(cold_client: httpx.AsyncClient) -> None:
    """Before the lifespan has opened the database the service is not ready."""
    ready = await cold_client.get("/readyz")
    health = await cold_client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["reason"] == "starting"
    assert health.status_code == 503


async def test_health_without_dependencies_omits_status(
    cold_client: httpx.AsyncClient,
    app: FastAPI,
) -> None:
    """With no dependencies the body has uptime and version but no status."""
    app.state.health = Health(version="9.9.9")

    response = await cold_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"uptime": 0, "version": "9.9.9"}


async def test_health_endpoints_need_no_credentials_and_set_nosniff(
    client: httpx.AsyncClient,
) -> None:
    """Health, liveness and readiness answer anonymous callers with nosniff set."""
    for path in ("/healthz", "/livez", "/readyz"):
        response = await client.get(path)

        assert response.status_code == 200, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
