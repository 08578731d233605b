"""Failed Basic and API key attempts are limited per client and scheme."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from reference_service.app import create_app
from reference_service.rate_limit import FailureLimiter
from reference_service.settings import Settings
from reference_service.telemetry import Telemetry

LIMIT = 3


def test_the_limiter_refuses_past_the_limit_until_the_window_passes() -> None:
    """After `limit` failures a key waits; once the window passes it may try again."""
    limiter = FailureLimiter(limit=2, window_s=1)

    limiter.record_failure("api_key:10.0.0.1")
    assert limiter.retry_after("api_key:10.0.0.1") is None
    limiter.record_failure("api_key:10.0.0.1")
    wait = limiter.retry_after("api_key:10.0.0.1")

    assert wait == 1
    assert limiter.retry_after("api_key:10.0.0.2") is None
    time.sleep(1.1)
    assert limiter.retry_after("api_key:10.0.0.1") is None


def test_windows_are_whole_seconds_rounded_up() -> None:
    """A fractional window never becomes shorter than configured."""
    assert FailureLimiter(limit=1, window_s=0.2).window_s == 1
    assert FailureLimiter(limit=1, window_s=60.5).window_s == 61


@pytest.fixture
def limited_app(tmp_path: Path, telemetry: Telemetry, api_key: str) -> FastAPI:
    """The app with a small failure limit."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/orders.db",
        basic_auth_password="limit-test-password",
        api_keys=api_key,
        jwt_secret="limit-test-jwt-secret-0123456789abcdef",
        auth_failure_limit=LIMIT,
        auth_failure_window=60,
    )
    return create_app(settings, telemetry)


async def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.mark.anyio
async def test_failed_api_keys_get_429_with_retry_after(
    limited_app: FastAPI, api_key: str
) -> None:
    """Past the limit even the right key waits, with Retry-After in seconds."""
    async with limited_app.router.lifespan_context(limited_app):
        client = await _client(limited_app)
        async with client:
            wrong = [
                await client.get("/users", headers={"X-API-Key": "wrong"})
                for _ in range(LIMIT)
            ]
            limited = await client.get("/users", headers={"X-API-Key": api_key})
            basic = await client.post(
                "/orders", json={}, auth=("admin", "limit-test-password")
            )

    assert [r.status_code for r in wrong] == [401] * LIMIT
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # The count is per scheme: Basic is not limited by API key failures.
    assert basic.status_code != 429


@pytest.mark.anyio
async def test_successes_and_anonymous_calls_are_never_counted(
    limited_app: FastAPI, api_key: str
) -> None:
    """Many good or anonymous calls leave the failure budget untouched."""
    async with limited_app.router.lifespan_context(limited_app):
        client = await _client(limited_app)
        async with client:
            for _ in range(LIMIT * 2):
                await client.get("/users", headers={"X-API-Key": api_key})
                await client.get("/users")
            for _ in range(LIMIT - 1):
                await client.get("/users", headers={"X-API-Key": "wrong"})
            still_allowed = await client.get("/users", headers={"X-API-Key": api_key})

    assert still_allowed.status_code == 200
