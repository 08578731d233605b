"""Request tracing in process: server spans, context propagation, errors, streams."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from reference_service.telemetry import get_tracer
from reference_service.tracing_middleware import TracingMiddleware

pytestmark = pytest.mark.anyio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
OTHER_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def server_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    """The app with one public route that raises."""

    @app.get("/boom", openapi_extra={"security": []})
    async def boom() -> dict[str, str]:
        msg = "database exploded at /srv/secret/path"
        raise RuntimeError(msg)

    return app


async def test_each_request_is_one_server_span_named_by_its_route_template(
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
    password: str,
) -> None:
    """Requests to two ids give two SERVER spans of one name with the HTTP attributes."""
    headers = {"user-agent": "probe/1.0"}
    for order_id in ("a" * 32, "b" * 32):
        await client.get(
            f"/orders/{order_id}",
            params={"token": "canary-query-token"},
            headers=headers,
            auth=("admin", password),
        )

    first, second = server_spans(span_exporter)
    assert first.name == second.name == "GET /orders/{order_id}"
    assert first.context.trace_id != second.context.trace_id
    assert first.parent is None
    assert dict(first.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/orders/" + "a" * 32,
        "url.scheme": "http",
        "network.protocol.version": "1.1",
        "user_agent.original": "probe/1.0",
        "server.address": "testserver",
        "server.port": 80,
        "http.route": "/orders/{order_id}",
        "http.response.status_code": 404,
    }
    assert first.status.status_code is StatusCode.UNSET


async def test_unmatched_request_is_named_by_its_method_only(
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
) -> None:
    """A path no route matches gives the span name `GET` and no http.route."""
    await client.get("/no/such/path")

    [span] = server_spans(span_exporter)
    assert span.name == "GET"
    assert "http.route" not in (span.attributes or {})


async def test_sampled_parent_is_continued_with_its_tracestate(
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
) -> None:
    """A sampled traceparent sets the trace id and parent; tracestate travels along."""
    await client.get(
        "/users/public",
        headers={
            "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
            "tracestate": "vendor=opaque,other=1",
        },
    )

    [span] = server_spans(span_exporter)
    assert span.name == "GET /users/public"
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None
    assert span.parent.is_remote
    assert f"{span.parent.span_id:016x}" == PARENT_ID
    assert dict(span.context.trace_state) == {"vendor": "opaque", "other": "1"}


async def test_unsampled_parent_produces_no_span(
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
) -> None:
    """A traceparent with the sampled flag off is answered and never recorded."""
    response = await client.get(
        "/users/public", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"}
    )

    assert response.status_code == 200
    assert span_exporter.get_finished_spans() == ()


@pytest.mark.parametrize(
    "traceparents",
    [
        [f"ff-{TRACE_ID}-{PARENT_ID}-01"],
        [f"00-{'0' * 32}-{PARENT_ID}-01"],
        [f"00-{TRACE_ID}-{'0' * 16}-01"],
        [f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01"],
        [f"00-{TRACE_ID}0-{PARENT_ID}-01"],
        [f"00-{TRACE_ID[:-2]}zz-{PARENT_ID}-01"],
        [f"00-{TRACE_ID.upper()}-{PARENT_ID}-01"],
        [f"00-{TRACE_ID}-{PARENT_ID}-01-extra"],
        ["\x00\xff garbage"],
        [f"00-{TRACE_ID}-{PARENT_ID}-01", f"00-{OTHER_TRACE_ID}-{PARENT_ID}-01"],
    ],
    ids=[
        "version-ff",
        "zero-trace-id",
        "zero-span-id",
        "short-trace-id",
        "long-trace-id",
        "illegal-characters",
        "upper-case",
        "version-00-with-suffix",
        "binary",
        "duplicated",
    ],
)
async def test_malformed_traceparent_starts_a_fresh_trace(
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
    traceparents: list[str],
) -> None:
    """An invalid traceparent is answered 200 under a new, valid trace id."""
    headers = [(b"traceparent", value.encode("latin-1")) for value in traceparents]
    headers.append((b"tracestate", b"vendor=opaque"))

    response = await client.get("/users/public", headers=headers)

    assert response.status_code == 200
    [span] = server_spans(span_exporter)
    assert span.parent is None
    assert span.context.is_valid
    assert f"{span.context.trace_id:032x}" not in (TRACE_ID, OTHER_TRACE_ID)
    assert dict(span.context.trace_state) == {}


async def test_server_error_is_an_error_span_with_the_exception(
    failing_app: FastAPI,
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
) -> None:
    """An unhandled exception gives status ERROR, error.type and the exception event."""
    response = await client.get("/boom")

    assert response.status_code == 500
    assert "Traceback" not in response.text
    [span] = server_spans(span_exporter)
    assert span.name == "GET /boom"
    assert span.status.status_code is StatusCode.ERROR
    attributes = span.attributes or {}
    assert attributes["error.type"] == "RuntimeError"
    assert attributes["http.response.status_code"] == 500
    [event] = span.events
    assert event.name == "exception"
    details = event.attributes or {}
    assert details["exception.type"] == "RuntimeError"
    assert details["exception.message"] == "database exploded at /srv/secret/path"
    assert "in boom" in str(details["exception.stacktrace"])


async def test_client_error_leaves_the_server_span_status_unset(
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
) -> None:
    """A 401 is the client's error: the server span's status stays UNSET."""
    response = await client.get("/orders/some-id")

    assert response.status_code == 401
    [span] = server_spans(span_exporter)
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in (span.attributes or {})


async def test_orders_stream_sends_ndjson_and_follows_new_orders(
    client: httpx.AsyncClient,
    span_exporter: InMemorySpanExporter,
    password: str,
) -> None:
    """GET /orders/stream sends the latest orders, then new ones; its span spans it all."""
    auth = ("admin", password)
    ids = []
    for amount in (1.0, 2.0, 3.0):
        created = await client.post(
            "/orders", json={"amount": amount, "type": "book"}, auth=auth
        )
        ids.append(created.json()["id"])

    async def order_later() -> str:
        await asyncio.sleep(0.2)
        created = await client.post(
            "/orders", json={"amount": 4.0, "type": "pen"}, auth=auth
        )
        return str(created.json()["id"])

    streamed, later = await asyncio.gather(
        client.get("/orders/stream", params={"limit": 2, "follow": 0.5}, auth=auth),
        order_later(),
    )

    assert streamed.status_code == 200
    assert streamed.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in streamed.iter_lines()]
    assert [line["id"] for line in lines] == [ids[1], ids[2], later]
    [span] = [s for s in server_spans(span_exporter) if "stream" in s.name]
    assert span.name == "GET /orders/stream"
    assert span.start_time is not None and span.end_time is not None
    assert span.end_time - span.start_time >= 0.5e9


async def test_streamed_span_ends_with_the_last_chunk_not_the_background_task() -> None:
    """A stream's span covers every chunk and stops before later background work."""
    chunk_delay = 0.05
    background_started: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for number in range(3):
            await asyncio.sleep(chunk_delay)
            yield f"{number}\n".encode()

    async def after_response() -> None:
        background_started.append(time.time_ns())
        await asyncio.sleep(chunk_delay)

    async def stream(request: Request) -> StreamingResponse:
        return StreamingResponse(chunks(), background=BackgroundTask(after_response))

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = TracingMiddleware(
        Starlette(routes=[Route("/stream", stream)]), tracer=get_tracer(provider)
    )

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        started = time.time_ns()
        response = await client.get("/stream")

    assert response.text == "0\n1\n2\n"
    [span] = exporter.get_finished_spans()
    assert span.name == "GET /stream"
    assert span.start_time is not None and span.end_time is not None
    assert span.start_time >= started
    assert span.end_time - span.start_time >= 3 * chunk_delay * 1e9
    assert span.end_time <= background_started[0]
    provider.shutdown()
