"""Concrete requests for an operation: path values and a body that fits its schema.

Security probes need a request that reaches the operation, not a thorough fuzzing of it
(schemathesis does that for input validation). This builds the smallest plausible
request from examples, defaults, enums and types, following local ``$ref`` pointers to a
fixed depth so that cyclic schemas end.
"""

from __future__ import annotations

import re
from typing import Any, Final

from conformance.openapi.security import Operation

MAX_DEPTH: Final = 8
PARAMETER: Final = re.compile(r"\{([^{}]+)\}")


def sample_path(operation: Operation, document: dict[str, Any]) -> str:
    """The operation's path with every ``{parameter}`` filled in."""
    schemas = {
        str(p.get("name")): p.get("schema") or {}
        for p in _parameters(operation, document)
        if p.get("in") == "path"
    }

    def fill(match: re.Match[str]) -> str:
        value = sample_value(schemas.get(match.group(1), {}), document)
        return str(value if value not in (None, "") else "1")

    return PARAMETER.sub(fill, operation.path)


def sample_body(operation: Operation, document: dict[str, Any]) -> Any:
    """A JSON body for the operation, or ``None`` when it takes no JSON body."""
    body = resolve(operation.raw.get("requestBody") or {}, document)
    content = body.get("content") or {}
    media = content.get("application/json")
    if not isinstance(media, dict):
        return None
    if "example" in media:
        return media["example"]

    return sample_value(media.get("schema") or {}, document)


def sample_value(schema: Any, document: dict[str, Any], depth: int = 0) -> Any:
    schema = resolve(schema, document)
    if depth > MAX_DEPTH or not isinstance(schema, dict):
        return None
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("allOf", "anyOf", "oneOf"):
        if schema.get(key):
            return sample_value(schema[key][0], document, depth + 1)

    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        required = schema.get("required") or list(properties)
        return {
            name: sample_value(properties.get(name, {}), document, depth + 1)
            for name in required
        }
    if kind == "array":
        return [sample_value(schema.get("items") or {}, document, depth + 1)]
    return _scalar(kind, schema)


def resolve(value: Any, document: dict[str, Any]) -> Any:
    """Follow local ``$ref`` pointers (``#/components/...``) a bounded number of times."""
    for _ in range(MAX_DEPTH):
        if not isinstance(value, dict) or "$ref" not in value:
            return value
        value = _pointer(str(value["$ref"]), document)
    return {}


def _pointer(reference: str, document: dict[str, Any]) -> Any:
    if not reference.startswith("#/"):
        return {}
    node: Any = document
    for part in reference[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node


def _parameters(operation: Operation, document: dict[str, Any]) -> list[dict[str, Any]]:
    declared = operation.raw.get("parameters") or []
    resolved = [resolve(p, document) for p in declared]
    return [p for p in resolved if isinstance(p, dict)]


def _scalar(kind: Any, schema: dict[str, Any]) -> Any:
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        floor = float(schema.get("minimum", 1) or 1)
        exclusive = schema.get("exclusiveMinimum")
        if isinstance(exclusive, int | float) and not isinstance(exclusive, bool):
            floor = max(floor, float(exclusive) + 1)
        elif exclusive is True:
            floor += 1
        return max(floor, 1.0)
    if kind == "boolean":
        return True
    if schema.get("format") == "uuid":
        return "00000000-0000-4000-8000-000000000001"
    if schema.get("format") == "email":
        return "probe@example.com"
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    length = int(schema.get("minLength", 1) or 1)
    return "x" * max(1, min(length, 64))
