"""OpenAPI document with the guide's three security levels.

- API level: the top-level `security` is the default (Basic).
- Operations enforcing exactly the default carry no `security` and inherit it.
- Operations enforcing something else list it; explicitly public ones say
  `security: []` through `openapi_extra`.

Everything is read from each route's dependencies, so a route added to a copy
of this template is documented correctly without touching this module, and a
route that declares nothing at all stops the app from starting.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from reference_service.security import Requirement, SecurityDependency

DEFAULT_SECURITY: list[Requirement] = [{"basic": []}]


class UndeclaredSecurityError(RuntimeError):
    """A route neither enforces a scheme nor declares itself public."""


def route_security(route: Any) -> list[Requirement] | None:
    """The requirements a route enforces, its explicit `security`, or None."""
    extra = route.openapi_extra or {}
    if "security" in extra:
        explicit: list[Requirement] = extra["security"]
        return explicit

    dependant: Dependant | None = route.dependant
    if dependant is None:
        return None

    requirements = [
        dependency.requirement for dependency in _security_dependencies(dependant)
    ]
    return requirements or None


def _security_dependencies(dependant: Dependant) -> Iterator[SecurityDependency]:
    for child in dependant.dependencies:
        if isinstance(child.call, SecurityDependency):
            yield child.call
        yield from _security_dependencies(child)


def _documented_routes(app: FastAPI) -> Iterator[Any]:
    """Each documented operation route, with included routers' prefixes applied.

    FastAPI 0.16x resolves included routers lazily and exposes the effective
    routes through `iter_route_contexts`; older versions copy the routes into
    `app.routes`. Both give objects with `path_format`, `methods`,
    `openapi_extra` and `dependant`.
    """
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Iterable[Any] = iterate(app.routes) if iterate is not None else app.routes
    for route in routes:
        original = getattr(route, "original_route", route)
        if isinstance(original, APIRoute) and route.include_in_schema:
            yield route


def check_security_declared(app: FastAPI) -> None:
    """Refuse to start when a route's security is neither enforced nor explicit.

    Without this, a route added without a dependency would be documented as
    inheriting Basic while answering anyone.
    """
    undeclared = [
        f"{','.join(sorted(route.methods or ()))} {route.path}"
        for route in _documented_routes(app)
        if route_security(route) is None
    ]
    if undeclared:
        msg = (
            f"routes without declared security: {'; '.join(undeclared)}. "
            "Add a security dependency from reference_service.security, or "
            'openapi_extra={"security": []} to make a route public on purpose.'
        )
        raise UndeclaredSecurityError(msg)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Generate the document once, then set each operation's security level."""
    if app.openapi_schema is not None:
        return app.openapi_schema

    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    document["security"] = DEFAULT_SECURITY
    for route in _documented_routes(app):
        _apply_security(document, route)

    app.openapi_schema = document
    return document


def _apply_security(document: dict[str, Any], route: Any) -> None:
    requirements = route_security(route)
    path_item = document["paths"][route.path_format]
    for method in route.methods or ():
        operation = path_item.get(method.lower())
        if operation is None:
            continue
        if requirements == DEFAULT_SECURITY:
            operation.pop("security", None)
        elif requirements is not None:
            operation["security"] = requirements


def install_openapi(app: FastAPI) -> None:
    """Make the app serve the document built here."""

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
