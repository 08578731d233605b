"""The security model an OpenAPI document declares, operation by operation.

OpenAPI gives security at two levels: the document's ``security`` (the API default) and
each operation's own, where an empty list means explicitly public. The guide adds a
service level between them; from outside it shows as operation-level requirements, so
two levels are all a document can carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from conformance.openapi.document import OpenAPIDocument

HTTP_METHODS: Final = (
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "trace",
)

Requirement = dict[str, list[str]]
Origin = Literal["operation", "api", "undeclared"]


@dataclass(frozen=True)
class SecurityScheme:
    """One entry of ``components.securitySchemes``."""

    name: str
    type: str
    scheme: str = ""
    location: str = ""
    parameter: str = ""
    # OAuth2: where the clientCredentials flow gets tokens (may be relative).
    token_url: str = ""

    @property
    def challenge(self) -> str | None:
        """The ``WWW-Authenticate`` scheme RFC 9110 expects on a 401, if any."""
        if self.type == "http" and self.scheme.lower() in ("basic", "bearer"):
            return self.scheme.capitalize()
        if self.type in ("oauth2", "openIdConnect"):
            return "Bearer"
        return None

    @property
    def is_bearer(self) -> bool:
        """Credentials are bearer tokens (HTTP bearer, OAuth2, OpenID Connect)."""
        bearer = self.type == "http" and self.scheme.lower() == "bearer"
        return bearer or self.type in ("oauth2", "openIdConnect")

    @property
    def is_guessable(self) -> bool:
        """Credentials an attacker could guess: passwords and API keys."""
        basic = self.type == "http" and self.scheme.lower() == "basic"
        return basic or self.type == "apiKey"

    def describe(self) -> str:
        if self.type == "http":
            return f"HTTP {self.scheme}"
        if self.type == "apiKey":
            return f"API key in {self.location} {self.parameter!r}"
        return self.type


@dataclass(frozen=True)
class Operation:
    """One method on one path with the security that applies to it."""

    method: str
    path: str
    operation_id: str
    requirements: tuple[Requirement, ...]
    origin: Origin
    raw: dict[str, Any]
    raw_path: str = ""

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def is_public(self) -> bool:
        """No credentials needed: nothing required, or an empty requirement allowed."""
        return not self.requirements or any(not r for r in self.requirements)

    @property
    def is_explicitly_public(self) -> bool:
        return self.origin == "operation" and self.is_public

    def scheme_names(self) -> list[str]:
        return sorted({name for r in self.requirements for name in r})


@dataclass(frozen=True)
class SecurityModel:
    """Schemes, the API default and every operation of one document."""

    schemes: dict[str, SecurityScheme]
    default: tuple[Requirement, ...] | None
    operations: tuple[Operation, ...]

    def secured(self) -> list[Operation]:
        return [op for op in self.operations if not op.is_public]

    def explicitly_public(self) -> list[Operation]:
        return [op for op in self.operations if op.is_explicitly_public]


def read_security_model(document: OpenAPIDocument) -> SecurityModel:
    data = document.data
    components = data.get("components") or {}
    raw_schemes = components.get("securitySchemes") or {}
    schemes = {
        name: _scheme(name, value)
        for name, value in raw_schemes.items()
        if isinstance(value, dict)
    }
    default = _requirements(data["security"]) if "security" in data else None
    prefix = _server_path_prefix(data)

    operations: list[Operation] = []
    for path, item in (data.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            raw = item.get(method)
            if not isinstance(raw, dict):
                continue
            requirements, origin = _effective(raw, default)
            operations.append(
                Operation(
                    method=method,
                    path=prefix + str(path),
                    operation_id=str(raw.get("operationId") or f"{method} {path}"),
                    requirements=requirements,
                    origin=origin,
                    raw=raw,
                    raw_path=str(path),
                )
            )

    return SecurityModel(schemes=schemes, default=default, operations=tuple(operations))


def _effective(
    raw: dict[str, Any],
    default: tuple[Requirement, ...] | None,
) -> tuple[tuple[Requirement, ...], Origin]:
    if "security" in raw:
        return _requirements(raw["security"]), "operation"
    if default is not None:
        return default, "api"
    return (), "undeclared"


def _requirements(value: Any) -> tuple[Requirement, ...]:
    if not isinstance(value, list):
        return ()
    requirements: list[Requirement] = []
    for entry in value:
        if isinstance(entry, dict):
            requirements.append({str(k): list(v or []) for k, v in entry.items()})
    return tuple(requirements)


def _scheme(name: str, value: dict[str, Any]) -> SecurityScheme:
    return SecurityScheme(
        name=name,
        type=str(value.get("type", "")),
        scheme=str(value.get("scheme", "")),
        location=str(value.get("in", "")),
        parameter=str(value.get("name", "")),
        token_url=_client_credentials_url(value),
    )


def _client_credentials_url(value: dict[str, Any]) -> str:
    flows = value.get("flows")
    flow = flows.get("clientCredentials") if isinstance(flows, dict) else None
    return str(flow.get("tokenUrl", "")) if isinstance(flow, dict) else ""


def _server_path_prefix(data: dict[str, Any]) -> str:
    """A relative first server URL (``/api/v1``) prefixes every path."""
    servers = data.get("servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], dict):
        return ""
    url = str(servers[0].get("url", ""))
    if url.startswith("/"):
        return url.rstrip("/")
    return ""
