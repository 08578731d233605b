"""Pure ASGI middleware: access log and metrics, security headers, unhandled errors.

Pure ASGI classes (not BaseHTTPMiddleware) keep streaming responses streaming
and add no task per request. Order in `app.py`, outermost first: tracing
(`tracing_middleware.py`), request record, security headers, errors; so the
500 that the error middleware writes is logged, counted, given its headers and
traced, and every line they log carries the request's trace id. Every layer
costs each request a call and a wrapped `send`, so there are no more of them
than there are jobs.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_service.errors import log_unhandled, send_internal_error
from reference_service.metrics import ServiceMetrics
from reference_service.tracing_middleware import record_server_error

access_logger = logging.getLogger("reference_service.access")

# Headers that carry credentials; their answers must not be cached (RFC 9111
# section 5.2.2.5).
_CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")


def route_template(scope: Scope) -> str | None:
    """The matched route's template (`/orders/{order_id}`), once routing is done."""
    return getattr(scope.get("route"), "path_format", None)


class RequestRecordMiddleware:
    """Times each request to its last byte once, then logs and counts it.

    The access-log line (method, path without the query, status, time) and the
    duration metric come from the same measurement, so they always agree.
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # Seen only while debug logs are on (GET /debug?debug-logs=on).
        access_logger.debug(
            "request started",
            extra={"http.method": scope["method"], "http.path": scope["path"]},
        )
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.record_request(
                scope["method"], route_template(scope), status, seconds
            )
            access_logger.info(
                "request",
                extra={
                    "http.method": scope["method"],
                    # The query string stays out: it may carry tokens.
                    "http.path": scope["path"],
                    "http.status": status,
                    "http.time_ms": round(seconds * 1000, 3),
                },
            )


class SecurityHeadersMiddleware:
    """Adds nosniff everywhere and no-store to answers for credentialed requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        credentialed = any(
            name.lower() in _CREDENTIAL_HEADERS for name, _ in scope["headers"]
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                if credentialed:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ErrorMiddleware:
    """Turns an unhandled exception into a JSON 500 and logs its traceback.

    Starlette's outermost error middleware would also answer, but it re-raises
    so the server logs the error a second time, and it sits outside the other
    middleware, so its answer would miss the security headers and the access
    log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except ClientDisconnect:
            # The client went away mid-request: nothing to answer, not our error.
            access_logger.info(
                "client disconnected", extra={"http.path": scope["path"]}
            )
        except Exception as exc:
            record_server_error(scope, exc)
            log_unhandled(scope["method"], scope["path"], exc)
            if not started:
                await send_internal_error(send)
