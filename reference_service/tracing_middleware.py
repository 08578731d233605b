"""One SERVER span per HTTP request, as a pure ASGI middleware.

The span follows OpenTelemetry's stable HTTP server conventions: it continues
the caller's trace when a valid W3C `traceparent` arrives (with `tracestate`
and `baggage`), is named `{method} {route}` after the matched route template
once routing is done, and ends with the last body chunk, so a streamed answer
is covered to its end while background tasks that run afterwards are not.
Query strings and credential headers never become attributes.

It is outermost in `app.py`: the access log and the error log are written
while its span is current, so their lines carry the trace and span ids.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_service.telemetry import get_tracer

logger = logging.getLogger(__name__)

# https://opentelemetry.io/docs/specs/semconv/http/http-spans/ (stable). Methods
# outside this set are recorded as _OTHER, so a client cannot mint span names.
_KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"},
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_EMPTY_CONTEXT = context.Context()
# Where `record_server_error` leaves the error type for the span to pick up.
_ERROR_TYPE_KEY = "reference_service.error_type"


class TracingMiddleware:
    """Wraps each HTTP request in a SERVER span; other scopes pass through."""

    def __init__(self, app: ASGIApp, tracer: trace.Tracer | None = None) -> None:
        self.app = app
        self._tracer = tracer if tracer is not None else get_tracer()
        # Only the headers the configured propagators read are collected.
        self._fields = frozenset(
            name.lower().encode("latin-1")
            for name in propagate.get_global_textmap().fields
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        method = scope["method"]
        span_method = method if method in _KNOWN_METHODS else "HTTP"
        attributes, carrier = self._read_request(scope, method)
        parent = _extract(carrier)
        span = self._tracer.start_span(
            span_method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes=attributes,
        )
        # The caller's baggage stays in the context beside our span.
        token = context.attach(trace.set_span_in_context(span, parent))
        status = 0
        ended = False

        def end(failure: str | None = None) -> None:
            nonlocal ended
            ended = True
            _finish(span, span_method, scope, status, failure)

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get(
                "more_body", False
            ):
                end()

        try:
            await self.app(scope, receive, send_traced)
        except BaseException as exc:
            if not ended:
                span.record_exception(exc, escaped=True)
                end(error_type(exc))
            raise
        finally:
            # The app returned without a last chunk: the client went away
            # mid-stream, or nothing was answered at all.
            if not ended:
                end()
            context.detach(token)

    def _read_request(
        self, scope: Scope, method: str
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Span attributes and the propagation headers, in one pass over headers."""
        scheme = scope.get("scheme", "http")
        attributes: dict[str, Any] = {
            "http.request.method": method if method in _KNOWN_METHODS else "_OTHER",
            "url.path": scope["path"],
            "url.scheme": scheme,
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
        if method not in _KNOWN_METHODS:
            attributes["http.request.method_original"] = method

        carrier: dict[str, str] = {}
        host: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == b"user-agent":
                attributes["user_agent.original"] = value.decode("latin-1")
            elif name in self._fields:
                key = name.decode("latin-1")
                text = value.decode("latin-1")
                # RFC 9110 section 5.3: repeated fields are one comma-joined
                # list, which makes a repeated traceparent invalid, as W3C
                # Trace Context wants; tracestate and baggage are lists anyway.
                carrier[key] = f"{carrier[key]},{text}" if key in carrier else text

        address = _server_address(host, scope.get("server"), scheme)
        if address is not None:
            attributes["server.address"], attributes["server.port"] = address

        return attributes, carrier


def record_server_error(scope: Scope, exc: BaseException) -> None:
    """Record an exception the app caught and answered on the request's span.

    The error middleware calls this while the server span is current; the span
    then gets the exception event, status ERROR and the exception's type as
    `error.type`, even though the exception never reaches this middleware.
    """
    trace.get_current_span().record_exception(exc)
    scope[_ERROR_TYPE_KEY] = error_type(exc)


def error_type(exc: BaseException) -> str:
    """The `error.type` of an exception: its fully qualified class name."""
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _finish(
    span: trace.Span,
    span_method: str,
    scope: Scope,
    status: int,
    raised: str | None,
) -> None:
    # Routing has updated the scope by now; the template keeps names bounded.
    route = getattr(scope.get("route"), "path_format", None)
    if route:
        span.update_name(f"{span_method} {route}")
        span.set_attribute("http.route", route)
    if status:
        span.set_attribute("http.response.status_code", status)

    # A 4xx is the client's error: a server span leaves its status unset.
    failure = raised or scope.get(_ERROR_TYPE_KEY)
    if failure is None and status >= 500:
        failure = str(status)
    elif failure is None and status == 0:
        failure = "incomplete_response"
    if failure is not None:
        span.set_attribute("error.type", failure)
        span.set_status(StatusCode.ERROR)
    span.end()


def _extract(carrier: dict[str, str]) -> context.Context:
    """The caller's context; anything malformed starts a fresh trace instead."""
    if not carrier:
        return _EMPTY_CONTEXT
    try:
        return propagate.extract(carrier, context=_EMPTY_CONTEXT)
    except Exception:
        # The propagators validate their input; this is a last line of defence
        # so that a hostile header can never turn into a 500.
        logger.debug("ignored unreadable trace context", exc_info=True)
        return _EMPTY_CONTEXT


# Clients send the same few Host values again and again; the cache is bounded, so
# a client sending many different ones costs only the parsing.
@functools.lru_cache(maxsize=256)
def _server_address(
    host: bytes | None,
    server: tuple[str, int | None] | None,
    scheme: str,
) -> tuple[str, int] | None:
    """`server.address` and `server.port` from Host, else from the socket."""
    if host is not None:
        parsed = _parse_host(host.decode("latin-1"), _DEFAULT_PORTS.get(scheme, 80))
        if parsed is not None:
            return parsed
    if server is not None and server[1] is not None:
        return server[0], server[1]

    return None


def _parse_host(text: str, default_port: int) -> tuple[str, int] | None:
    """Split "name", "name:port" or "[v6]:port"; None for anything malformed."""
    if text.startswith("["):
        address, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:]
    else:
        address, _, port_text = text.partition(":")
    if not address:
        return None
    if not port_text:
        return address, default_port
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        return None

    return address, int(port_text)
