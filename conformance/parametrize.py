"""Instances of per-operation and per-scheme checks, read from the security model.

A check asks for one of these fixtures by name and runs once per value, so the reports
have one entry per operation or scheme. Without values the check runs once, skipped,
with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from conformance.errors import UsageError
from conformance.openapi.security import Operation, SecurityModel, SecurityScheme
from conformance.runtime import Runtime


@dataclass(frozen=True)
class SchemeTarget:
    """A security scheme and one operation that requires it alone."""

    scheme: SecurityScheme
    operation: Operation
    scopes: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.scheme.name}: {self.operation.label}"


Selection = Callable[[SecurityModel], list[object]]


def _secured(model: SecurityModel) -> list[object]:
    return list(model.secured())


def _public(model: SecurityModel) -> list[object]:
    return list(model.explicitly_public())


def _declared(model: SecurityModel) -> list[object]:
    return list(model.operations)


def _schemes(model: SecurityModel) -> list[object]:
    """Each scheme once, with the first operation (GETs first) that requires it alone."""
    chosen: dict[str, SchemeTarget] = {}
    ordered = sorted(model.secured(), key=lambda op: op.method != "get")
    for operation in ordered:
        for requirement in operation.requirements:
            if len(requirement) != 1:
                continue
            ((name, scopes),) = requirement.items()
            if name in model.schemes and name not in chosen:
                chosen[name] = SchemeTarget(
                    model.schemes[name], operation, tuple(scopes)
                )
    return list(chosen.values())


def _bearer_schemes(model: SecurityModel) -> list[object]:
    return [
        t for t in _schemes(model) if isinstance(t, SchemeTarget) and t.scheme.is_bearer
    ]


def _guessable_schemes(model: SecurityModel) -> list[object]:
    return [
        t
        for t in _schemes(model)
        if isinstance(t, SchemeTarget) and t.scheme.is_guessable
    ]


def _fuzzable(model: SecurityModel) -> list[object]:
    """Operations worth generating inputs for: those that take parameters or a body."""
    return [
        op
        for op in model.operations
        if op.raw.get("parameters") or op.raw.get("requestBody")
    ]


def _scoped(model: SecurityModel) -> list[object]:
    return [
        op
        for op in model.secured()
        if any(len(r) == 1 and next(iter(r.values())) for r in op.requirements)
    ]


SELECTIONS: dict[str, tuple[Selection, str]] = {
    "secured_operation": (_secured, "secured operation"),
    "public_operation": (_public, "explicitly public operation"),
    "declared_operation": (_declared, "operation"),
    "scheme_target": (_schemes, "security scheme used by an operation"),
    "bearer_target": (_bearer_schemes, "bearer token (JWT or OAuth2) scheme in use"),
    "guessable_target": (_guessable_schemes, "Basic or API key scheme in use"),
    "scoped_operation": (_scoped, "operation that requires scopes"),
    "fuzzable_operation": (_fuzzable, "operation with parameters or a body"),
}


def values_for(fixture: str, runtime: Runtime | None) -> tuple[list[object], str]:
    """The values a per-instance fixture takes, or none and the reason."""
    if runtime is None:
        return [], "needs a target: pass --target URL or --target-cmd COMMAND"
    try:
        model = runtime.security_model
    except UsageError as exc:
        return [], str(exc)
    if model is None:
        return [], runtime.discovery.reason()

    select, noun = SELECTIONS[fixture]
    chosen = select(model)
    if not chosen:
        return [], f"the OpenAPI document declares no {noun}"
    return chosen, ""


def label(value: object) -> str:
    return str(getattr(value, "label", value))
