"""Write a starting ``conformance.toml`` from what a target shows of itself.

``python -m conformance init`` reads the OpenAPI document, tries the usual health,
readiness, liveness and metrics paths, and writes a profile with what it found and
commented placeholders for what only the team knows: credentials (variable names,
never values), dependencies and expectations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

import httpx

from conformance.openapi.document import (
    OpenAPIDocument,
    discover_document,
    load_named_document,
)
from conformance.openapi.security import (
    SecurityModel,
    SecurityScheme,
    read_security_model,
)

HEALTH_PATHS: Final = (
    "/healthz",
    "/health",
    "/health/live",
    "/actuator/health",
    "/status",
)
READINESS_PATHS: Final = (
    "/readyz",
    "/ready",
    "/health/ready",
    "/actuator/health/readiness",
)
LIVENESS_PATHS: Final = ("/livez", "/live", "/health/live", "/actuator/health/liveness")
METRICS_PATHS: Final = ("/metrics", "/actuator/prometheus")
PROFILING_PATHS: Final = ("/debug/pprof/", "/debug/pprof/profile", "/debug/profile")
TIMEOUT_S: Final = 5.0


@dataclass
class Inspection:
    """What the target showed."""

    target: str | None
    document: OpenAPIDocument | None
    health: str | None = None
    readiness: str | None = None
    liveness: str | None = None
    metrics: str | None = None
    profiling: str | None = None
    notes: list[str] = field(default_factory=list)


def inspect_target(target: str | None, openapi: str | None) -> Inspection:
    """Probe the target (when given) and read its document."""
    document = load_named_document(openapi, TIMEOUT_S) if openapi else None
    seen = Inspection(target=target, document=document)
    if target is None:
        return seen

    with httpx.Client(timeout=TIMEOUT_S) as client:
        if document is None:
            discovery = discover_document(client, target, TIMEOUT_S)
            seen.document = discovery.document
            if discovery.document is None:
                seen.notes.append(discovery.reason())
        seen.health = _first_answering(client, target, HEALTH_PATHS)
        seen.readiness = _first_answering(client, target, READINESS_PATHS)
        seen.liveness = _first_answering(client, target, LIVENESS_PATHS)
        seen.metrics = _first_answering(client, target, METRICS_PATHS, prometheus=True)
        seen.profiling = _first_existing(client, target, PROFILING_PATHS)
    return seen


def render_profile(seen: Inspection) -> str:
    """The profile text: settings found, and commented placeholders for the rest."""
    model = read_security_model(seen.document) if seen.document else None
    lines = [
        "# Target profile written by `python -m conformance init`. Review it: uncomment",
        "# and fill in what only you know. Secrets never go here, only the NAMES of the",
        "# environment variables that hold them.",
        "",
        "[target]",
        f'url = "{seen.target}"' if seen.target else '# url = "http://127.0.0.1:8080"',
        '# command = "./my-service"          # let the suite launch it instead',
        '# address_env = { HTTP_ADDR = "{host}:{port}" }',
    ]
    if seen.document is not None and seen.target is None:
        lines.append(f'openapi = "{seen.document.source}"')
    lines += ["", "[health]"]
    lines.append(_setting("path", seen.health, "no health endpoint answered"))
    lines.append(
        _setting("readiness_path", seen.readiness, "no readiness path answered")
    )
    lines.append(_setting("liveness_path", seen.liveness, "no liveness path answered"))
    lines += [
        "",
        "# OpenTelemetry export cannot be seen from a URL: point the service's",
        "# OTEL_EXPORTER_OTLP_ENDPOINT at the suite's receiver (http://127.0.0.1:4318),",
        "# or let the suite launch it (target.command), and the tracing checks will see it.",
    ]
    if seen.metrics:
        lines += [
            "",
            "[metrics]",
            f'path = "{seen.metrics}"  # Prometheus exposition seen',
        ]
    else:
        lines += [
            "",
            "# No Prometheus endpoint answered at " + ", ".join(METRICS_PATHS) + ".",
        ]
    if seen.profiling:
        lines += [
            "",
            "[debug]",
            f'profile_path = "{seen.profiling}"',
            '# auth = "basic"   # the scheme that opens the debug surface',
        ]
    lines += [
        "",
        "[expect]",
        "# The guide's values; change them to what your service promises.",
    ]
    lines += [
        "# header_timeout_s = 10",
        "# read_timeout_s = 30",
        "# idle_timeout_s = 120",
        "# shutdown_grace_s = 30",
        '# failing_request = { method = "GET", path = "/fails" }   # a request that ends in 5xx',
        "",
        "# Dependencies, with the variable that points the service at each:",
        "# [[dependencies]]",
        '# name = "database"',
        '# kind = "tcp"          # http: the suite stubs it; tcp: a fault proxy; embedded',
        '# env = "DATABASE_URL"',
    ]
    lines += _credentials(model)
    lines += _operations(model)
    lines += [f"# note: {note}" for note in seen.notes]
    return "\n".join(lines) + "\n"


def _credentials(model: SecurityModel | None) -> list[str]:
    if model is None or not model.schemes:
        return ["", "# No security schemes were found in an OpenAPI document."]
    lines = [
        "",
        "# Credentials per security scheme: the NAMES of variables holding them.",
    ]
    for scheme in model.schemes.values():
        prefix = re.sub(r"[^A-Z0-9]+", "_", scheme.name.upper()).strip("_")
        lines += [
            "",
            f"# {scheme.name}: {scheme.describe()}",
            f"# [credentials.{scheme.name}]",
        ]
        lines += [f"# {line}" for line in _variables(scheme, prefix)]
    return lines


def _variables(scheme: SecurityScheme, prefix: str) -> list[str]:
    if scheme.type == "http" and scheme.scheme.lower() == "basic":
        return [
            f'username_env = "{prefix}_USER"',
            f'password_env = "{prefix}_PASSWORD"',
        ]
    if scheme.type == "apiKey":
        return [f'value_env = "{prefix}_KEY"']
    return [
        f'token_env = "{prefix}_TOKEN"            # a ready token, or:',
        f'signing_key_env = "{prefix}_SIGNING_KEY"  # to mint tokens for scope checks',
    ]


def _operations(model: SecurityModel | None) -> list[str]:
    if model is None:
        return []
    lines = ["", "# Operations found, with the security that applies to each:"]
    for op in model.operations:
        security = (
            " or ".join("+".join(r) or "anonymous" for r in op.requirements) or "none"
        )
        lines.append(f"#   {op.label:<40} {security} ({op.origin})")
    return lines


def _setting(key: str, value: str | None, missing: str) -> str:
    return f'{key} = "{value}"' if value else f'# {key} = "/..."   # {missing}'


def _first_existing(
    client: httpx.Client, base: str, paths: tuple[str, ...]
) -> str | None:
    """The first path that is there, even behind credentials (anything but 404)."""
    for path in paths:
        try:
            response = client.get(base + path, params={"seconds": "1"})
        except httpx.HTTPError:
            continue
        if response.status_code not in (404, 405):
            return path
    return None


def _first_answering(
    client: httpx.Client, base: str, paths: tuple[str, ...], prometheus: bool = False
) -> str | None:
    for path in paths:
        try:
            response = client.get(base + path)
        except httpx.HTTPError:
            continue
        if prometheus and response.status_code == 200 and "# TYPE" in response.text:
            return path
        if not prometheus and response.status_code in (200, 503):
            return path
    return None
