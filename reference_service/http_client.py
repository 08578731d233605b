"""Outgoing HTTP: one shared client whose every request is a CLIENT span.

`TracingTransport` wraps httpx's transport: each request gets a CLIENT span
with the stable HTTP client conventions and carries that span's context in
`traceparent` (and `tracestate`, `baggage`), so the dependency continues the
same trace under it. The span ends when the response headers arrive; a body
read later as a stream is not timed.
"""

from __future__ import annotations

import httpx
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util.types import AttributeValue

from reference_service.tracing_middleware import error_type


class TracingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that traces and propagates through another one."""

    def __init__(self, transport: httpx.AsyncBaseTransport, tracer: trace.Tracer):
        self._transport = transport
        self._tracer = tracer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        method = request.method
        attributes: dict[str, AttributeValue] = {
            "http.request.method": method,
            "server.address": url.host,
            "server.port": url.port or (443 if url.scheme == "https" else 80),
            # Without query or user info: either may carry a secret.
            "url.full": str(url.copy_with(query=None, fragment=None, userinfo=b"")),
        }
        with self._tracer.start_as_current_span(
            method,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            propagate.inject(request.headers)
            try:
                response = await self._transport.handle_async_request(request)
            except Exception as exc:
                span.record_exception(exc)
                span.set_attribute("error.type", error_type(exc))
                span.set_status(StatusCode.ERROR)
                raise

            span.set_attribute("http.response.status_code", response.status_code)
            # A client span counts 4xx as errors too: the call did not succeed.
            if response.status_code >= 400:
                span.set_attribute("error.type", str(response.status_code))
                span.set_status(StatusCode.ERROR)

        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


def create_http_client(tracer: trace.Tracer, timeout: float) -> httpx.AsyncClient:
    """The shared client for calling dependencies; close it with `aclose()`.

    Proxy variables are not read (`trust_env=False`): httpx would route proxied
    URLs around this transport, untraced. Give a proxy to the inner
    `AsyncHTTPTransport` instead when one is needed.
    """
    transport = TracingTransport(httpx.AsyncHTTPTransport(), tracer)
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        trust_env=False,
        follow_redirects=False,
    )
