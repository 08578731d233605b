"""Pick the requests the telemetry checks send when the profile does not name them.

A good probe reaches real application code: an operation from the OpenAPI document that
the suite can call (public, or with credentials in the profile), not the health path,
which many services rightly leave out of tracing.
"""

from __future__ import annotations

from conformance.openapi.document import OpenAPIDocument
from conformance.openapi.samples import PARAMETER, sample_path
from conformance.openapi.security import Operation, SecurityModel
from conformance.profile import RequestSpec
from conformance.settings import Settings


def probe_request(
    settings: Settings,
    model: SecurityModel | None,
    document: OpenAPIDocument | None,
) -> RequestSpec:
    """A simple GET the target serves, traced like any other request."""
    if settings.profile.tracing.probe is not None:
        return settings.profile.tracing.probe

    for operation in _callable_gets(settings, model):
        if not PARAMETER.search(operation.path) and document is not None:
            return _spec(operation, settings, sample_path(operation, document.data))
    return RequestSpec(path=settings.profile.health.path)


def templated_requests(
    settings: Settings,
    model: SecurityModel | None,
) -> list[RequestSpec]:
    """Two requests to one route template with different values, or none found."""
    if len(settings.profile.tracing.templated) >= 2:
        return settings.profile.tracing.templated

    for operation in _callable_gets(settings, model):
        if len(PARAMETER.findall(operation.path)) == 1:
            return [
                _spec(operation, settings, PARAMETER.sub(value, operation.path))
                for value in ("1", "2")
            ]
    return []


def _callable_gets(settings: Settings, model: SecurityModel | None) -> list[Operation]:
    if model is None:
        return []
    health = settings.profile.health
    skipped = {health.path, health.readiness_path, health.liveness_path}
    return [
        op
        for op in model.operations
        if op.method == "get"
        and op.path not in skipped
        and (op.is_public or _scheme_with_credentials(op, settings) is not None)
    ]


def _spec(operation: Operation, settings: Settings, path: str) -> RequestSpec:
    if operation.is_public:
        return RequestSpec(method="GET", path=path)
    found = _scheme_with_credentials(operation, settings)
    assert found is not None
    scheme, scopes = found
    return RequestSpec(method="GET", path=path, auth=scheme, scopes=scopes)


def _scheme_with_credentials(
    operation: Operation, settings: Settings
) -> tuple[str, list[str]] | None:
    configured = set(settings.credentials.schemes())
    for requirement in operation.requirements:
        if len(requirement) == 1:
            ((name, scopes),) = requirement.items()
            if name in configured:
                return name, scopes
    return None
