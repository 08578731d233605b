"""The requests a log session sends, each with the reason it is sent.

A traced probe (LOG-02, LOG-03), the profile's failing request (LOG-03, LOG-04), one
wrong credential per declared scheme (LOG-07), and the canary secrets in every place
the catalogue lists, in requests that end in 2xx, 4xx and 5xx (LOG-05).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.logs import canaries as places
from conformance.logs.canaries import Canaries
from conformance.openapi.document import OpenAPIDocument
from conformance.openapi.samples import PARAMETER, sample_body, sample_path
from conformance.openapi.security import Operation, SecurityModel, SecurityScheme
from conformance.profile import RequestSpec

PROBE = "probe"
FAILING = "failing request"
REJECTED = "rejected credential"
CANARY = "canaries"


@dataclass(frozen=True)
class Planned:
    """One request of the session: the spec, extra headers, and why it is sent."""

    purpose: str
    spec: RequestSpec
    headers: tuple[tuple[str, str], ...] = ()
    scheme: str = ""
    carries: tuple[str, ...] = field(default_factory=tuple)


def plan(
    probe: RequestSpec,
    failing: RequestSpec | None,
    model: SecurityModel | None,
    document: OpenAPIDocument | None,
    canaries: Canaries,
) -> list[Planned]:
    """Every request of the session, in the order they are sent."""
    planned = [Planned(PROBE, probe)]
    if failing is not None:
        planned.append(Planned(FAILING, failing))
    planned.extend(_rejected(probe, model, document, canaries))

    query = (
        f"token={canaries[places.TOKEN_QUERY]}&api_key={canaries[places.API_KEY_QUERY]}"
    )
    cookie = (("Cookie", f"session={canaries[places.COOKIE]}"),)
    carried = (places.TOKEN_QUERY, places.API_KEY_QUERY, places.COOKIE)
    for spec in (probe, failing):
        if spec is not None:
            with_query = spec.model_copy(update={"path": _with_query(spec.path, query)})
            planned.append(Planned(CANARY, with_query, cookie, carries=carried))

    target = failing or probe
    body: Any = target.json_body if isinstance(target.json_body, dict) else {}
    posted = target.model_copy(
        update={
            "method": "POST",
            "json_body": {**body, "password": canaries[places.PASSWORD_FIELD]},
            "faults": {},
        }
    )
    planned.append(Planned(CANARY, posted, carries=(places.PASSWORD_FIELD,)))
    return planned


def _rejected(
    probe: RequestSpec,
    model: SecurityModel | None,
    document: OpenAPIDocument | None,
    canaries: Canaries,
) -> list[Planned]:
    """A wrong credential per declared scheme; generic ones where none is declared."""
    found: list[Planned] = []
    kinds_sent: set[str] = set()
    schemes = model.schemes.values() if model is not None else ()
    for scheme in schemes:
        operation = _operation_for(scheme.name, model)
        if operation is None or document is None:
            continue
        kind, headers, spec = _credential(scheme, canaries, operation, document)
        if spec is None:
            continue
        kinds_sent.add(kind)
        found.append(Planned(REJECTED, spec, headers, scheme.name, (kind,)))

    generic = {
        places.BASIC: ("Authorization", canaries.basic_header()),
        places.API_KEY: ("X-API-Key", canaries[places.API_KEY]),
        places.BEARER: ("Authorization", f"Bearer {canaries[places.BEARER]}"),
    }
    for kind, header in generic.items():
        if kind not in kinds_sent:
            bare = probe.model_copy(update={"auth": None})
            found.append(Planned(CANARY, bare, (header,), carries=(kind,)))
    return found


def _credential(
    scheme: SecurityScheme,
    canaries: Canaries,
    operation: Operation,
    document: OpenAPIDocument,
) -> tuple[str, tuple[tuple[str, str], ...], RequestSpec | None]:
    path = sample_path(operation, document.data)
    body = sample_body(operation, document.data) if operation.method != "get" else None
    spec = RequestSpec(method=operation.method.upper(), path=path, json=body)
    if scheme.type == "http" and scheme.scheme.lower() == "basic":
        return places.BASIC, (("Authorization", canaries.basic_header()),), spec
    if scheme.is_bearer:
        token = canaries[places.BEARER]
        return places.BEARER, (("Authorization", f"Bearer {token}"),), spec
    if scheme.type == "apiKey":
        key = canaries[places.API_KEY]
        if scheme.location == "query":
            query = f"{scheme.parameter}={key}"
            return (
                places.API_KEY,
                (),
                spec.model_copy(update={"path": _with_query(path, query)}),
            )
        if scheme.location == "cookie":
            return places.API_KEY, (("Cookie", f"{scheme.parameter}={key}"),), spec
        return places.API_KEY, ((scheme.parameter, key),), spec
    return "", (), None


def _operation_for(name: str, model: SecurityModel | None) -> Operation | None:
    """An operation that needs ``name`` alone, a GET without parameters first."""
    if model is None:
        return None
    candidates = [
        op
        for op in model.operations
        if op.requirements
        and not op.is_public
        and all(set(r) == {name} for r in op.requirements)
    ]
    candidates.sort(
        key=lambda op: (op.method != "get", bool(PARAMETER.search(op.path)))
    )
    return candidates[0] if candidates else None


def _with_query(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}"
