"""Find, fetch and parse the target's OpenAPI document.

The document comes from ``--openapi`` (a path or a URL) or, without it, from the paths
where frameworks usually serve it. A document the user named that cannot be read is a
usage error; one that is merely absent makes the checks that need it skip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from conformance.deadline import bounded_client
from conformance.errors import UsageError

DISCOVERY_PATHS: Final = (
    "/openapi.json",
    "/openapi3.json",
    "/openapi.yaml",
    "/docs/openapi.json",
)
MAX_DOCUMENT_BYTES: Final = 16 << 20
_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class OpenAPIDocument:
    """A parsed document and where it came from."""

    data: dict[str, Any]
    source: str

    @property
    def version(self) -> str:
        return str(self.data.get("openapi") or self.data.get("swagger") or "unknown")


@dataclass(frozen=True)
class Discovery:
    """The outcome of looking for a document: one, or the places tried and what they gave."""

    document: OpenAPIDocument | None
    attempts: tuple[str, ...]

    def reason(self) -> str:
        tried = "; ".join(self.attempts) or "nothing tried"
        return (
            f"No OpenAPI document found ({tried}). Pass --openapi PATH_OR_URL or set "
            "target.openapi in the profile."
        )


def load_named_document(source: str, timeout_s: float) -> OpenAPIDocument:
    """Load the document the user named; any problem is a usage error."""
    if source.startswith(("http://", "https://")):
        try:
            with bounded_client(follow_redirects=True) as client:
                response = client.get(source, timeout=timeout_s)
        except httpx.HTTPError as exc:
            msg = f"The OpenAPI document {source!r} could not be fetched: {exc}."
            raise UsageError(msg) from exc
        if response.status_code != 200:
            msg = f"The OpenAPI document {source!r} answered {response.status_code}, not 200."
            raise UsageError(msg)
        text = response.text
    else:
        try:
            if Path(source).stat().st_size > MAX_DOCUMENT_BYTES:
                msg = f"The OpenAPI document {source!r} is larger than {MAX_DOCUMENT_BYTES} bytes."
                raise UsageError(msg)
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"The OpenAPI document {source!r} cannot be read: {exc}."
            raise UsageError(msg) from exc

    data, problem = parse_document(text)
    if data is None:
        msg = f"The OpenAPI document {source!r} is not usable: {problem}."
        raise UsageError(msg)

    return OpenAPIDocument(data=data, source=source)


def discover_document(
    client: httpx.Client, base_url: str, timeout_s: float
) -> Discovery:
    """Try the usual paths on the target, in order; the first usable document wins."""
    attempts: list[str] = []
    for path in DISCOVERY_PATHS:
        url = base_url + path
        try:
            response = client.get(url, timeout=timeout_s)
        except httpx.HTTPError as exc:
            attempts.append(f"{path}: {type(exc).__name__}")
            continue
        if response.status_code != 200:
            attempts.append(f"{path}: {response.status_code}")
            continue
        if len(response.content) > MAX_DOCUMENT_BYTES:
            attempts.append(f"{path}: larger than {MAX_DOCUMENT_BYTES} bytes")
            continue
        data, problem = parse_document(response.text)
        if data is None:
            attempts.append(f"{path}: {problem}")
            continue
        return Discovery(OpenAPIDocument(data=data, source=url), tuple(attempts))

    return Discovery(None, tuple(attempts))


def parse_document(text: str) -> tuple[dict[str, Any] | None, str]:
    """The document as a mapping, or ``None`` and what is wrong with it."""
    try:
        # JSON first: it is a subset of YAML that parses a hundred times faster.
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    try:
        if data is None:
            data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        return None, f"neither JSON nor YAML ({str(exc).splitlines()[0]})"
    except RecursionError:
        return None, "nested too deeply to parse"

    if not isinstance(data, dict):
        return None, "not a mapping at the top level"
    if "openapi" not in data and "swagger" not in data:
        return None, "no 'openapi' version field"
    if not isinstance(data.get("paths", {}), dict):
        return None, "'paths' is not a mapping"

    return data, ""
