"""Orders and the inventory dependency: spans, propagation, failures, health."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

from reference_service.app import create_app
from reference_service.settings import Settings
from reference_service.telemetry import Telemetry
from tests.reference_service.servers import InventoryStub, StubMode, free_port

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
ORDER = {"amount": 12.5, "type": "book"}


@pytest.fixture
def stub() -> Iterator[InventoryStub]:
    with InventoryStub() as running:
        yield running


@pytest.fixture
def inventory_url(request: pytest.FixtureRequest, stub: InventoryStub) -> str:
    """The stub's URL, or with the parameter "refused" one where nothing listens."""
    if getattr(request, "param", None) == "refused":
        return f"http://127.0.0.1:{free_port()}"
    return stub.url


@pytest.fixture
async def inventory_client(
    settings: Settings,
    telemetry: Telemetry,
    inventory_url: str,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app whose INVENTORY_URL points at the stub."""
    configured = settings.model_copy(
        update={"inventory_url": inventory_url, "dependency_timeout": 0.3},
    )
    app = create_app(configured, telemetry)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


def by_kind(exporter: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is kind]


def named(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = [s for s in exporter.get_finished_spans() if s.name == name]
    return span


async def test_order_is_traced_through_the_reservation(
    inventory_client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
    stub: InventoryStub,
    password: str,
) -> None:
    """POST /orders gives create_order and CLIENT spans; the stub gets their context."""
    response = await inventory_client.post(
        "/orders",
        json=ORDER,
        auth=("admin", password),
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
    )

    assert response.status_code == 201
    order = response.json()
    [server] = by_kind(span_exporter, SpanKind.SERVER)
    create_order = named(span_exporter, "create_order")
    [client] = by_kind(span_exporter, SpanKind.CLIENT)
    assert server.name == "POST /orders"
    assert create_order.kind is SpanKind.INTERNAL
    assert create_order.parent is not None
    assert create_order.parent.span_id == server.context.span_id
    assert dict(create_order.attributes or {}) == {
        "order.id": order["id"],
        "order.amount": 12.5,
        "order.type": "book",
    }
    assert client.parent is not None
    assert client.parent.span_id == create_order.context.span_id
    assert dict(client.attributes or {}) == {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": stub.port,
        "url.full": f"{stub.url}/reservations",
        "http.response.status_code": 200,
    }

    [reservation] = stub.requests
    assert (reservation.method, reservation.path) == ("POST", "/reservations")
    assert reservation.json() == {"order_id": order["id"], **ORDER}
    _, trace_id, parent_id, flags = reservation.headers["traceparent"].split("-")
    assert trace_id == TRACE_ID == f"{client.context.trace_id:032x}"
    assert parent_id == f"{client.context.span_id:016x}"
    assert flags == "01"


@pytest.mark.parametrize(
    ("mode", "inventory_url"),
    [("503", "stub"), ("stall", "stub"), ("ok", "refused")],
    indirect=["inventory_url"],
)
async def test_inventory_failure_answers_502_and_marks_the_spans(
    inventory_client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
    stub: InventoryStub,
    mode: StubMode,
    settings: Settings,
    password: str,
) -> None:
    """A 503, a stall or a refusal answers 502 in time, stores nothing, marks ERROR."""
    stub.mode = mode
    auth = ("admin", password)

    started = time.monotonic()
    response = await inventory_client.post("/orders", json=ORDER, auth=auth)

    assert time.monotonic() - started < 2.0
    assert response.status_code == 502
    assert response.json() == {"error": "inventory unavailable"}
    [server] = by_kind(span_exporter, SpanKind.SERVER)
    assert server.status.status_code is StatusCode.ERROR
    assert (server.attributes or {})["error.type"] == "502"
    create_order = named(span_exporter, "create_order")
    assert create_order.status.status_code is StatusCode.ERROR
    [event] = create_order.events
    assert event.name == "exception"
    exception_type = str((event.attributes or {})["exception.type"])
    assert exception_type.endswith("DependencyUnavailableError")
    [client] = by_kind(span_exporter, SpanKind.CLIENT)
    assert client.status.status_code is StatusCode.ERROR

    with closing(sqlite3.connect(settings.database_path)) as db:
        assert db.execute("SELECT count(*) FROM orders").fetchone() == (0,)


async def test_health_names_the_inventory_and_stays_fast_when_it_stalls(
    inventory_client: httpx.AsyncClient,
    stub: InventoryStub,
) -> None:
    """/healthz pings the inventory; a stalled one is NOT OK with 503 within 1 s."""
    healthy = await inventory_client.get("/healthz")
    assert healthy.status_code == 200
    assert healthy.json()["status"] == {"database": "OK", "inventory": "OK"}
    assert [(r.method, r.path) for r in stub.requests] == [("GET", "/healthz")]

    stub.mode = "stall"
    started = time.monotonic()
    stalled = await inventory_client.get("/healthz")
    ready = await inventory_client.get("/readyz")

    assert time.monotonic() - started < 2.0
    assert stalled.status_code == 503
    assert stalled.json()["status"] == {"database": "OK", "inventory": "NOT OK"}
    assert ready.status_code == 503
    assert ready.json()["reason"] == "dependency not OK: inventory"


async def test_without_inventory_url_orders_skip_the_reservation(
    client: httpx.AsyncClient,
    app: FastAPI,
    span_exporter: InMemorySpanExporter,
    password: str,
) -> None:
    """Unset INVENTORY_URL: orders are stored directly and health omits the inventory."""
    response = await client.post("/orders", json=ORDER, auth=("admin", password))
    health = await client.get("/healthz")

    assert response.status_code == 201
    assert by_kind(span_exporter, SpanKind.CLIENT) == []
    assert health.json()["status"] == {"database": "OK"}
    assert app.state.inventory is None
