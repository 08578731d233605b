"""Credentials on the wire: the headers, query values or cookies a scheme expects.

Positive probes (an authenticated request that must succeed) take the secrets from the
profile's variables and present them the way the OpenAPI scheme declares. For JWT
schemes with a signing key in the profile, a short-lived token is minted with PyJWT.
For OAuth2 schemes with a client in the profile, a token is fetched with the
client_credentials grant (RFC 6749 section 4.4) from the scheme's declared tokenUrl,
and reused while it is valid.
"""

from __future__ import annotations

import base64
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urljoin

import httpx
import jwt

from conformance.errors import ProbeError, UsageError
from conformance.openapi.security import SecurityScheme
from conformance.profile import CredentialRef

TOKEN_LIFETIME_S: Final = 300
TOKEN_FETCH_TIMEOUT_S: Final = 10.0
# A fetched token is fetched again this long before it expires.
TOKEN_EXPIRY_MARGIN_S: Final = 30.0


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
    *,
    base_url: str = "",
    ca_file: str | None = None,
) -> Presented:
    """The credential for ``scheme`` in the place the scheme declares.

    ``base_url`` resolves a relative tokenUrl; ``ca_file`` verifies its TLS.
    """
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

    if (
        scheme.type == "oauth2"
        and not secrets.get("token")
        and secrets.get("client_id")
    ):
        token = _client_tokens.get(scheme, secrets, scopes, base_url, ca_file)
        return Presented(headers={"Authorization": f"Bearer {token}"})

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


class ClientTokens:
    """Client-credentials tokens, fetched once per client and scopes, then reused."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, tuple[str, ...]], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(
        self,
        scheme: SecurityScheme,
        secrets: dict[str, str],
        scopes: list[str],
        base_url: str,
        ca_file: str | None,
    ) -> str:
        """A valid token for ``scopes``, from the cache or the token endpoint."""
        if not scheme.token_url:
            msg = (
                f"The OAuth2 scheme {scheme.name!r} declares no clientCredentials flow "
                "with a tokenUrl; declare one, or give the profile's "
                f"credentials.{scheme.name} a token_env instead of a client."
            )
            raise UsageError(msg)

        url = urljoin(base_url + "/", scheme.token_url)
        key = (url, secrets["client_id"], tuple(sorted(scopes)))
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and time.monotonic() < cached[1]:
                return cached[0]
            token, lifetime_s = _fetch_token(url, scheme, secrets, scopes, ca_file)
            expires = time.monotonic() + max(0.0, lifetime_s - TOKEN_EXPIRY_MARGIN_S)
            self._tokens[key] = (token, expires)
            return token


_client_tokens = ClientTokens()


def _fetch_token(
    url: str,
    scheme: SecurityScheme,
    secrets: dict[str, str],
    scopes: list[str],
    ca_file: str | None,
) -> tuple[str, float]:
    """The access token and its lifetime from one client_credentials request."""
    secret = _need(secrets, "client_secret", scheme)
    form = {"grant_type": "client_credentials"}
    if scopes:
        form["scope"] = " ".join(scopes)
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=ca_file) if ca_file else True
    )
    try:
        response = httpx.post(
            url,
            data=form,
            auth=(secrets["client_id"], secret),
            timeout=TOKEN_FETCH_TIMEOUT_S,
            verify=verify,
        )
    except httpx.HTTPError as exc:
        msg = f"The token endpoint {url} did not answer: {type(exc).__name__}."
        raise ProbeError(msg) from exc

    body = _json_object(response)
    token = body.get("access_token")
    if response.status_code != 200 or not isinstance(token, str):
        error = body.get("error", "no OAuth2 error code")
        msg = (
            f"The token endpoint {url} refused the profile's {scheme.name} client "
            f"({response.status_code}, {error}). Check the variables that "
            f"credentials.{scheme.name}.client_id_env and client_secret_env name, "
            "and that the client may use the client_credentials grant."
        )
        raise UsageError(msg)

    lifetime = body.get("expires_in")
    return token, float(lifetime) if isinstance(lifetime, int | float) else 60.0


def _json_object(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _need(secrets: dict[str, str], field_name: str, scheme: SecurityScheme) -> str:
    value = secrets.get(field_name)
    if not value:
        msg = (
            f"The profile's credentials.{scheme.name} needs {field_name}_env for a "
            f"{scheme.describe()} scheme."
        )
        raise UsageError(msg)
    return value
