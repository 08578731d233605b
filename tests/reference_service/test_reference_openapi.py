"""OpenAPI: the guide's API, service and method security levels."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from reference_service.api.deps import ApiKey, BasicUser
from reference_service.openapi import UndeclaredSecurityError, check_security_declared


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_the_three_schemes_are_defined_under_the_guides_names(app: FastAPI) -> None:
    """components.securitySchemes holds basic, api_key and jwt with their types."""
    schemes = app.openapi()["components"]["securitySchemes"]

    assert schemes["basic"]["type"] == "http"
    assert schemes["basic"]["scheme"] == "basic"
    assert schemes["api_key"]["type"] == "apiKey"
    assert schemes["api_key"]["in"] == "header"
    assert schemes["api_key"]["name"] == "X-API-Key"
    assert schemes["jwt"]["type"] == "http"
    assert schemes["jwt"]["scheme"] == "bearer"
    assert schemes["jwt"]["bearerFormat"] == "JWT"


def test_security_is_declared_at_api_service_and_method_level(app: FastAPI) -> None:
    """Basic is the API default; users list, admin and public override it."""
    document = app.openapi()
    operations = _operations(document)

    assert document["security"] == [{"basic": []}]
    assert "security" not in operations["POST /orders"]
    assert "security" not in operations["GET /orders/{order_id}"]
    assert operations["GET /users"]["security"] == [{"api_key": []}]
    assert operations["GET /users/admin"]["security"] == [
        {"jwt": ["api:read", "api:write"]},
    ]
    for public in ("GET /users/public", "GET /healthz", "GET /livez", "GET /readyz"):
        assert operations[public]["security"] == [], public


def test_every_requirement_names_a_defined_scheme(app: FastAPI) -> None:
    """No operation refers to a scheme missing from components.securitySchemes."""
    document = app.openapi()
    defined = set(document["components"]["securitySchemes"])
    used = {
        name
        for operation in _operations(document).values()
        for requirement in operation.get("security", document["security"])
        for name in requirement
    }

    assert used <= defined


@pytest.mark.anyio
async def test_openapi_document_is_served_publicly(app: FastAPI) -> None:
    """/openapi.json needs no credentials and returns the customised document."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert response.json()["security"] == [{"basic": []}]


def test_new_routes_are_documented_from_their_dependencies(app: FastAPI) -> None:
    """A route added to a copy gets its security from its dependencies alone."""

    @app.get("/reports")
    async def reports(user: BasicUser) -> dict[str, str]:
        return {}

    @app.get("/partners")
    async def partners(client: ApiKey) -> dict[str, str]:
        return {}

    operations = _operations(app.openapi())

    assert "security" not in operations["GET /reports"]
    assert operations["GET /partners"]["security"] == [{"api_key": []}]


def test_a_route_without_declared_security_is_refused(app: FastAPI) -> None:
    """A route that neither enforces a scheme nor says it is public stops start-up."""

    @app.get("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(UndeclaredSecurityError, match="GET /forgotten"):
        check_security_declared(app)
