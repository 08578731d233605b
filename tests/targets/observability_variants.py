"""Variants of the reference service whose metrics, debug surface or logs lack one pattern.

Run one as ``python -m tests.targets.observability_variants NAME``: it applies one
patch in its own process, then starts the reference service the way ``python -m
reference_service`` does, with its logging, so log-based checks see real output. The
patches stay here, in the tests: the template itself has none of them.
"""

from __future__ import annotations

import base64
import contextvars
import itertools
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

import uvicorn
from prometheus_client import generate_latest

import reference_service.app
import reference_service.debug
import reference_service.errors
import reference_service.log_config
import reference_service.metrics
import reference_service.middleware
import reference_service.security
from reference_service.log_config import JsonFormatter, TraceContextFilter
from reference_service.metrics import ServiceMetrics
from tests.targets.variants import ASGIApp, Receive, Scope, Send, respond

MILLISECOND_BUCKETS = (5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 5000.0)
_COUNT = re.compile(rb"^(\S+_count(?:\{[^}]*\})?) \S+$", re.MULTILINE)


Handle = Callable[[Any, ASGIApp, Scope, Receive, Send], Awaitable[None]]


class _Outermost:
    """Runs ``handle`` around the whole app, as the outermost middleware."""

    def __init__(self, app: ASGIApp, handle: Handle, service: Any) -> None:
        self.app = app
        self.handle = handle
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle(self.service, self.app, scope, receive, send)


def _wrap(handle: Handle) -> None:
    """Make create_app return the real app with ``handle`` outermost."""
    build = reference_service.app.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        service = build(*args, **kwargs)
        service.add_middleware(_Outermost, handle=handle, service=service)
        return service

    reference_service.app.create_app = create_app  # type: ignore[assignment]


def _serve_exposition(edit: Callable[[bytes], bytes]) -> Handle:
    """Answer /metrics in the text format, rewritten by ``edit``."""

    async def serve(
        service: Any, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if scope["type"] == "http" and scope["path"] == "/metrics":
            body = edit(generate_latest(service.state.metrics.registry))
            await respond(send, 200, body, "text/plain; version=0.0.4")
            return
        await app(scope, receive, send)

    return serve


def raw_path_labels() -> None:
    """Metrics labelled with the raw path (ids and all) instead of the route template."""

    def raw_path(scope: Scope) -> str:
        return str(scope["path"])

    reference_service.middleware.route_template = raw_path  # type: ignore[assignment]


def latency_in_milliseconds() -> None:
    record = ServiceMetrics.record_request

    def in_ms(self: Any, method: str, route: str | None, status: int, s: float) -> None:
        record(self, method, route, status, s * 1000)

    ServiceMetrics.record_request = in_ms  # type: ignore[method-assign]


def millisecond_buckets() -> None:
    reference_service.metrics.DURATION_BUCKETS = MILLISECOND_BUCKETS  # type: ignore[misc]


def counter_without_total() -> None:
    _wrap(_serve_exposition(lambda text: text.replace(b"orders_total", b"orders")))


def counter_goes_backwards() -> None:
    scrapes = itertools.count()

    def shrink(text: bytes) -> bytes:
        value = 1_000_000 - 7 * next(scrapes)
        return _COUNT.sub(lambda m: m.group(1) + b" " + str(value).encode(), text)

    _wrap(_serve_exposition(shrink))


def debug_switch_ignored() -> None:
    reference_service.debug.set_level = lambda level: "info"


def no_profiler() -> None:
    async def serve(
        service: Any, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/debug/pprof"):
            await respond(send, 404, {"detail": "Not Found"})
            return
        await app(scope, receive, send)

    _wrap(serve)


def debug_without_credentials() -> None:
    pair = f"{os.environ['BASIC_AUTH_USER']}:{os.environ['BASIC_AUTH_PASSWORD']}"
    header = (b"authorization", b"Basic " + base64.b64encode(pair.encode()))

    async def serve(
        service: Any, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/debug"):
            scope = {**scope, "headers": [*scope["headers"], header]}
        await app(scope, receive, send)

    _wrap(serve)


def server_access_log() -> None:
    """Uvicorn's own plain access logger on, beside the JSON access line."""
    init = uvicorn.Config.__init__

    def with_access_log(self: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **{**kwargs, "access_log": True})

    uvicorn.Config.__init__ = with_access_log  # type: ignore[method-assign]
    configure = reference_service.log_config.configure_logging

    def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
        configure(level, stream)
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        access = logging.getLogger("uvicorn.access")
        access.addHandler(handler)
        access.propagate = False

    reference_service.log_config.configure_logging = configure_logging


def _untraced(leave_out: Callable[[logging.LogRecord], bool]) -> None:
    """Records that ``leave_out`` picks get no trace context."""
    add = TraceContextFilter.filter

    def filter(self: TraceContextFilter, record: logging.LogRecord) -> bool:
        return True if leave_out(record) else add(self, record)

    TraceContextFilter.filter = filter  # type: ignore[method-assign]


def untraced_access_line() -> None:
    _untraced(lambda record: record.name == "reference_service.access")


def untraced_traceback() -> None:
    _untraced(lambda record: record.exc_info is not None)


def failure_logged_as_warning() -> None:
    logger = reference_service.errors.logger
    logger.error = logger.warning  # type: ignore[method-assign]


_QUERY: contextvars.ContextVar[str] = contextvars.ContextVar("query", default="")


def token_in_access_line() -> None:
    """The access line shows the path with its query string, tokens and all."""

    async def remember(
        service: Any, app: ASGIApp, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if scope["type"] == "http":
            _QUERY.set(scope.get("query_string", b"").decode("latin-1"))
        await app(scope, receive, send)

    def with_query(record: logging.LogRecord) -> bool:
        path = record.__dict__.get("http.path")
        if path and _QUERY.get():
            record.__dict__["http.path"] = f"{path}?{_QUERY.get()}"
        return True

    logging.getLogger("reference_service.access").addFilter(with_query)
    _wrap(remember)


def authorization_logged() -> None:
    """A refused request's Authorization header goes into the log."""
    unauthorized = reference_service.security._unauthorized

    def logged(request: Any, scheme: str, reason: str, *, invalid: bool = False) -> Any:
        logging.getLogger("reference_service.security").warning(
            "rejected", extra={"authorization": request.headers.get("authorization")}
        )
        return unauthorized(request, scheme, reason, invalid=invalid)

    reference_service.security._unauthorized = logged


def auth_failures_unlogged() -> None:
    logging.getLogger("reference_service.security").disabled = True


def json_on_terminal() -> None:
    reference_service.log_config.TerminalFormatter = JsonFormatter  # type: ignore[misc]


VARIANTS: dict[str, Callable[[], None]] = {
    f.__name__: f
    for f in (
        raw_path_labels,
        latency_in_milliseconds,
        millisecond_buckets,
        counter_without_total,
        counter_goes_backwards,
        debug_switch_ignored,
        no_profiler,
        debug_without_credentials,
        server_access_log,
        untraced_access_line,
        untraced_traceback,
        failure_logged_as_warning,
        token_in_access_line,
        authorization_logged,
        auth_failures_unlogged,
        json_on_terminal,
    )
}


def main(name: str) -> int:
    VARIANTS[name]()
    from reference_service.__main__ import main as serve

    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
