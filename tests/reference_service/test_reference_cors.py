"""CORS from CORS_ALLOWED_ORIGINS: listed origins only, never `*` or `null`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from reference_service.app import create_app
from reference_service.settings import Settings, describe_errors
from reference_service.telemetry import Telemetry

pytestmark = pytest.mark.anyio

ALLOWED = "https://app.example.com"
PREFLIGHT = {"Access-Control-Request-Method": "GET"}


def _settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/orders.db",
        basic_auth_password="cors-test-password",
        api_keys="cors-test-key",
        jwt_secret="cors-test-jwt-secret-0123456789abcdef",
        **values,  # type: ignore[arg-type]
    )


@pytest.fixture
async def cors_client(
    tmp_path: Path, telemetry: Telemetry
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app allowing two origins."""
    app = create_app(
        _settings(tmp_path, cors_allowed_origins=f"{ALLOWED}, http://localhost:3000"),
        telemetry,
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


async def test_without_origins_no_cors_header_is_sent(
    client: httpx.AsyncClient,
) -> None:
    """The default answers neither preflights nor requests with CORS headers."""
    preflight = await client.options("/users", headers={"Origin": ALLOWED, **PREFLIGHT})
    simple = await client.get("/users/public", headers={"Origin": ALLOWED})

    for response in (preflight, simple):
        assert not any(h.startswith("access-control-") for h in response.headers)


async def test_a_listed_origin_may_call_with_credentials(
    cors_client: httpx.AsyncClient,
) -> None:
    """A listed origin gets itself back and credentials allowed, preflight and all."""
    preflight = await cors_client.options(
        "/users",
        headers={
            "Origin": ALLOWED,
            **PREFLIGHT,
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    simple = await cors_client.get("/users/public", headers={"Origin": ALLOWED})

    assert preflight.status_code == 200
    for response in (preflight, simple):
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in simple.headers["Vary"]


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
async def test_other_origins_are_never_reflected(
    cors_client: httpx.AsyncClient, origin: str
) -> None:
    """An unlisted or `null` origin gets no Access-Control-Allow-Origin at all."""
    preflight = await cors_client.options(
        "/users", headers={"Origin": origin, **PREFLIGHT}
    )
    simple = await cors_client.get("/users/public", headers={"Origin": origin})

    assert preflight.status_code == 400
    for response in (preflight, simple):
        assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("*", "`*` cannot go with credentials"),
        ("null", "`null` is the origin of sandboxed and local pages"),
        ("https://app.example.com/", "drop the path"),
        ("app.example.com", "is not an origin"),
    ],
)
def test_unsafe_or_malformed_origins_are_refused(
    tmp_path: Path, value: str, problem: str
) -> None:
    """`*`, `null` and anything but scheme://host[:port] stop start-up, saying why."""
    with pytest.raises(ValidationError) as caught:
        _settings(tmp_path, cors_allowed_origins=value)

    (message,) = describe_errors(caught.value)
    assert message.startswith("CORS_ALLOWED_ORIGINS=")
    assert problem in message
