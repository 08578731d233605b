"""Variants of the reference service whose tracing lacks exactly one pattern.

Each factory patches one piece of the reference service's telemetry in its own process
(these run under ``uvicorn --factory``), then builds the real app. The patches stay
here, in the tests: the template itself has none of them.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

from opentelemetry import context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import ALWAYS_ON

import reference_service.app
import reference_service.http_client
import reference_service.middleware
import reference_service.telemetry
import reference_service.tracing_middleware as tracing
from reference_service.api.deps import get_app_tracer
from reference_service.app import create_app
from tests.targets.variants import ASGIApp, Receive, Scope, Send, respond

VALID_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


class _Untraced:
    """Stands where the tracing middleware was, and does nothing."""

    def __init__(self, app: ASGIApp, **_: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def untraced() -> Any:
    reference_service.app.TracingMiddleware = _Untraced  # type: ignore[misc,assignment]
    return create_app()


def ignores_traceparent() -> Any:
    tracing._extract = lambda carrier: context.Context()
    return create_app()


def traced_twice() -> Any:
    return tracing.TracingMiddleware(create_app(), tracer=tracing.get_tracer())


def samples_regardless_of_parent() -> Any:
    def always(*args: Any, **kwargs: Any) -> Any:
        return ALWAYS_ON

    reference_service.telemetry.adaptive_sampler = always
    return create_app()


def span_names_from_raw_paths() -> Any:
    finish = tracing._finish

    def raw(
        span: Any, method: str, scope: Any, status: int, raised: str | None
    ) -> None:
        route = SimpleNamespace(path_format=scope["path"])
        finish(span, method, {**scope, "route": route}, status, raised)

    tracing._finish = raw
    return create_app()


def unnamed_service() -> Any:
    def nameless(settings: Any) -> Resource:
        return Resource.create({})

    reference_service.telemetry.service_resource = nameless
    return create_app()


class _NoErrorStatus:
    """A span that ignores being marked as failed."""

    def __init__(self, span: Any) -> None:
        self._span = span

    def set_status(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_attribute(self, key: str, value: Any) -> None:
        if key != "error.type":
            self._span.set_attribute(key, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._span, name)


def errors_not_recorded() -> Any:
    finish = tracing._finish

    def quiet(
        span: Any, method: str, scope: Any, status: int, raised: str | None
    ) -> None:
        finish(_NoErrorStatus(span), method, scope, status, None)

    tracing._finish = quiet
    reference_service.middleware.record_server_error = lambda scope, exc: None
    return create_app()


def business_span_without_attributes() -> Any:
    app = create_app()
    tracer = get_app_tracer

    class Bare:
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def start_as_current_span(self, name: str, **kwargs: Any) -> Any:
            kwargs.pop("attributes", None)
            return self._inner.start_as_current_span(name, **kwargs)

    app.dependency_overrides[tracer] = lambda: Bare(tracing.get_tracer())
    return app


def outgoing_calls_without_context() -> Any:
    reference_service.http_client.propagate = SimpleNamespace(
        inject=lambda carrier: None
    )  # type: ignore[assignment]
    return create_app()


def fails_on_malformed_traceparent() -> Any:
    app = create_app()

    async def strict(scope: Scope, receive: Receive, send: Send) -> None:
        values = [v for k, v in scope.get("headers", []) if k == b"traceparent"]
        if values and not (
            len(values) == 1 and VALID_TRACEPARENT.match(values[0].decode())
        ):
            await respond(send, 500, {"error": "bad trace context"})
            return
        await app(scope, receive, send)

    return strict
