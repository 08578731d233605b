"""Errors and the access log: JSON everywhere, no traces, no echoed secrets."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.anyio


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    """The app with one public route that raises."""

    @app.get("/boom", openapi_extra={"security": []})
    async def boom() -> dict[str, str]:
        msg = "database exploded at /srv/secret/path"
        raise RuntimeError(msg)

    return app


async def test_unhandled_error_is_a_bare_json_500_and_logged(
    failing_app: FastAPI,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An exception answers {"error": ...} 500 with headers; the traceback goes to the log."""
    with caplog.at_level(logging.INFO):
        response = await client.get("/boom")

    assert response.status_code == 500
    assert response.json() == {"error": "internal server error"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "exploded" not in response.text

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert errors[0].__dict__["http.path"] == "/boom"
    access = [r for r in caplog.records if r.name == "reference_service.access"]
    assert access[-1].__dict__["http.status"] == 500


async def test_not_found_and_wrong_method_stay_json(client: httpx.AsyncClient) -> None:
    """Unknown paths give JSON 404 and unknown methods JSON 405 with Allow."""
    missing = await client.get("/nowhere")
    wrong_method = await client.delete("/livez")

    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET"
    assert wrong_method.headers["content-type"] == "application/json"


async def test_validation_errors_do_not_echo_the_input(
    client: httpx.AsyncClient,
    password: str,
) -> None:
    """A 422 names the bad fields but never repeats submitted values."""
    response = await client.post(
        "/orders",
        json={"amount": -1, "type": "x", "password": "canary-body-secret"},
        auth=("admin", password),
    )

    assert response.status_code == 422
    fields = {tuple(error["loc"]) for error in response.json()["detail"]}
    assert fields == {("body", "amount"), ("body", "password")}
    assert "canary-body-secret" not in response.text


async def test_each_request_is_logged_once_without_its_query(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The access log has one line per request with method, path, status and time."""
    with caplog.at_level(logging.INFO, logger="reference_service.access"):
        await client.get("/users/public", params={"token": "canary-query-token"})

    lines = [r for r in caplog.records if r.name == "reference_service.access"]
    assert len(lines) == 1
    fields = lines[0].__dict__
    assert fields["http.method"] == "GET"
    assert fields["http.path"] == "/users/public"
    assert fields["http.status"] == 200
    assert fields["http.time_ms"] >= 0
    assert "canary-query-token" not in caplog.text + str(fields)
