"""Credentials on the wire: the headers, query values or cookies a scheme expects.

Positive probes (an authenticated request that must succeed) take the secrets from the
profile's variables and present them the way the OpenAPI scheme declares. For JWT
schemes with a signing key in the profile, a short-lived token is minted with PyJWT.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Final

import jwt

from conformance.errors import UsageError
from conformance.openapi.security import SecurityScheme
from conformance.profile import CredentialRef

TOKEN_LIFETIME_S: Final = 300


@dataclass
class Presented:
    """Where one scheme's credential travels in a request."""

    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


def present(
    scheme: SecurityScheme,
    secrets: dict[str, str],
    reference: CredentialRef,
    scopes: list[str],
) -> Presented:
    """The credential for ``scheme`` in the place the scheme declares."""
    if scheme.type == "http" and scheme.scheme.lower() == "basic":
        pair = f"{secrets.get('username', '')}:{_need(secrets, 'password', scheme)}"
        encoded = base64.b64encode(pair.encode()).decode()
        return Presented(headers={"Authorization": f"Basic {encoded}"})

    if scheme.type == "apiKey":
        value = _need(secrets, "value", scheme)
        if scheme.location == "query":
            return Presented(params={scheme.parameter: value})
        if scheme.location == "cookie":
            return Presented(cookies={scheme.parameter: value})
        return Presented(headers={scheme.parameter: value})

    if scheme.type in ("http", "oauth2", "openIdConnect"):
        token = secrets.get("token") or _mint(secrets, reference, scopes, scheme)
        return Presented(headers={"Authorization": f"Bearer {token}"})

    msg = (
        f"The security scheme {scheme.name!r} of type {scheme.type!r} is not supported."
    )
    raise UsageError(msg)


def mint_token(
    signing_key: str,
    reference: CredentialRef,
    scopes: list[str],
    lifetime_s: int = TOKEN_LIFETIME_S,
) -> str:
    """A JWT signed with the profile's key, carrying ``scopes`` and a short expiry."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "conformance-suite",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(scopes),
    }
    if reference.issuer:
        claims["iss"] = reference.issuer
    if reference.audience:
        claims["aud"] = reference.audience
    return jwt.encode(claims, signing_key, algorithm=reference.algorithm or "HS256")


def _mint(
    secrets: dict[str, str],
    reference: CredentialRef,
    scopes: list[str],
    scheme: SecurityScheme,
) -> str:
    key = _need(secrets, "signing_key", scheme)
    return mint_token(key, reference, scopes)


def _need(secrets: dict[str, str], field_name: str, scheme: SecurityScheme) -> str:
    value = secrets.get(field_name)
    if not value:
        msg = (
            f"The profile's credentials.{scheme.name} needs {field_name}_env for a "
            f"{scheme.describe()} scheme."
        )
        raise UsageError(msg)
    return value
