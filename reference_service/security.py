"""The guide's four security schemes as FastAPI dependencies.

- `basic`: HTTP Basic, the API-wide default (orders).
- `api_key`: a key in the `X-API-Key` header (the users service).
- `jwt`: an HS256 bearer token whose scopes each operation can require.
- `oauth2`: an access token issued by this service's own authorization server
  (`oauth.py`), with scopes; declared with its authorization code and client
  credentials flows.

Each dependency carries the OpenAPI security requirement it enforces, which
`openapi.py` reads, so the document always says what the code does. Secrets are
compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any, Protocol, cast, runtime_checkable

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.openapi.models import (
    OAuthFlowAuthorizationCode,
    OAuthFlowClientCredentials,
    OAuthFlows,
)
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    OAuth2,
)
from fastapi.security.utils import get_authorization_scheme_param

from reference_service.errors import ErrorDetail
from reference_service.oauth import (
    AUTHORIZE_PATH,
    READ_SCOPE,
    REFRESH_PATH,
    SCOPES,
    TOKEN_PATH,
    WRITE_SCOPE,
    IssuedToken,
    OAuthServer,
)
from reference_service.rate_limit import FailureLimiter
from reference_service.settings import Settings

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"

Requirement = dict[str, list[str]]


@runtime_checkable
class SecurityDependency(Protocol):
    """A dependency that enforces one OpenAPI security requirement."""

    @property
    def requirement(self) -> Requirement:
        """The requirement object, e.g. {"jwt": ["api:write"]}."""
        ...


class _BasicScheme(HTTPBasic):
    """HTTPBasic that logs a malformed header instead of answering by itself."""

    async def __call__(  # type: ignore[override]
        self, request: Request
    ) -> HTTPBasicCredentials | None:
        try:
            return await super().__call__(request)
        except HTTPException:
            raise _unauthorized(request, "basic", "malformed credentials") from None


_basic_scheme = _BasicScheme(
    scheme_name="basic",
    description="User name and password sent with every request (RFC 7617).",
    auto_error=False,
)
_api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="api_key",
    description="A key issued to the calling service, sent in X-API-Key.",
    auto_error=False,
)
_jwt_scheme = HTTPBearer(
    bearerFormat="JWT",
    scheme_name="jwt",
    description=(
        "An HS256 JSON Web Token. Scopes, in the `scope` claim (space-separated) "
        f"or the `scopes` list: `{READ_SCOPE}` to read, `{WRITE_SCOPE}` to write."
    ),
    auto_error=False,
)
_oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        authorizationCode=OAuthFlowAuthorizationCode(
            authorizationUrl=AUTHORIZE_PATH,
            tokenUrl=TOKEN_PATH,
            refreshUrl=REFRESH_PATH,
            scopes=SCOPES,
        ),
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl=TOKEN_PATH, scopes=SCOPES
        ),
    ),
    scheme_name="oauth2",
    description=(
        "An access token from this service's authorization server: a user's "
        "through the authorization code flow (with PKCE), or a client's own "
        "through client credentials."
    ),
    auto_error=False,
)

UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "Missing or invalid credentials."},
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorDetail, "description": "The token lacks a required scope."},
}


class BasicAuth:
    """Requires the configured Basic user and password; returns the user name."""

    def __init__(self) -> None:
        self.requirement: Requirement = {"basic": []}

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic_scheme)],
    ) -> str:
        if credentials is None:
            raise _unauthorized(request, "basic", "missing credentials")

        refuse_if_limited(request, "basic")
        settings = _settings(request)
        password = settings.basic_auth_password.get_secret_value()
        # Both comparisons always run, so an unknown user and a wrong password
        # take the same time and get the same answer.
        user_ok = _same(credentials.username, settings.basic_auth_user)
        password_ok = _same(credentials.password, password)
        if not (user_ok and password_ok):
            count_failure(request, "basic")
            raise _unauthorized(request, "basic", "wrong user name or password")

        return credentials.username


class ApiKeyAuth:
    """Requires one of the configured API keys; returns a name for the key."""

    def __init__(self) -> None:
        self.requirement: Requirement = {"api_key": []}

    async def __call__(
        self,
        request: Request,
        key: Annotated[str | None, Depends(_api_key_scheme)],
    ) -> str:
        if key is None:
            raise _unauthorized(request, "api_key", "missing credentials")

        refuse_if_limited(request, "api_key")
        configured = _settings(request).api_keys
        # Compare with every key, not stopping at a match, to keep timing flat.
        matches = [_same(key, known.get_secret_value()) for known in configured]
        if not any(matches):
            count_failure(request, "api_key")
            raise _unauthorized(request, "api_key", "unknown key")

        return f"api-key-{matches.index(True) + 1}"


class JWTAuth:
    """Requires a valid HS256 token holding every scope given; returns its claims."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes
        self.requirement: Requirement = {"jwt": list(scopes)}

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[
            HTTPAuthorizationCredentials | None,
            Depends(_jwt_scheme),
        ],
    ) -> dict[str, Any]:
        if credentials is None:
            raise _unauthorized(request, "jwt", "missing credentials")

        try:
            claims = decode_token(credentials.credentials, _settings(request))
        except jwt.InvalidTokenError as exc:
            reason = f"invalid token ({type(exc).__name__})"
            raise _unauthorized(request, "jwt", reason, invalid=True) from None

        missing = [scope for scope in self.scopes if scope not in token_scopes(claims)]
        if missing:
            raise _forbidden(request, "jwt", self.scopes, missing)

        return claims


class OAuth2Auth:
    """Requires an access token this service issued, holding every scope given."""

    def __init__(self, *scopes: str) -> None:
        self.scopes = scopes
        self.requirement: Requirement = {"oauth2": list(scopes)}

    async def __call__(
        self,
        request: Request,
        authorization: Annotated[str | None, Depends(_oauth2_scheme)],
    ) -> IssuedToken:
        kind, token = get_authorization_scheme_param(authorization)
        if not authorization or kind.lower() != "bearer" or not token:
            raise _unauthorized(request, "oauth2", "missing credentials")

        server = cast(OAuthServer, request.app.state.oauth)
        issued = server.store.find_access(token)
        if issued is None:
            reason = "unknown, expired or revoked token"
            raise _unauthorized(request, "oauth2", reason, invalid=True)

        missing = [scope for scope in self.scopes if scope not in issued.scopes]
        if missing:
            raise _forbidden(request, "oauth2", self.scopes, missing)

        return issued


def decode_token(token: str, settings: Settings) -> dict[str, Any]:
    """Verify signature, expiry and, when configured, issuer and audience.

    Only HS256 is accepted, which rules out `alg: none` and algorithm
    confusion. A token carrying `aud` is refused when no audience is
    configured (RFC 7519 section 4.1.3).
    """
    required = ["exp"]
    if settings.jwt_issuer is not None:
        required.append("iss")
    if settings.jwt_audience is not None:
        required.append("aud")

    claims: dict[str, Any] = jwt.decode(
        token,
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        options={"require": required},
    )
    return claims


def token_scopes(claims: dict[str, Any]) -> set[str]:
    """Scopes from `scope` (RFC 8693, space-separated) or a `scopes` list."""
    found: set[str] = set()
    for key in ("scope", "scopes"):
        value = claims.get(key)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))

    return found


def _same(given: str, expected: str) -> bool:
    # compare_digest refuses non-ASCII str, so compare the UTF-8 bytes.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _client_key(request: Request, scheme: str) -> str:
    # The socket's address: a header such as X-Forwarded-For is the client's to forge.
    host = request.client.host if request.client else "unknown"
    return f"{scheme}:{host}"


def refuse_if_limited(request: Request, scheme: str) -> None:
    """Answer 429 while this client has used up its failed attempts for ``scheme``."""
    limiter = cast(FailureLimiter, request.app.state.auth_failures)
    wait = limiter.retry_after(_client_key(request, scheme))
    if wait is None:
        return

    logger.warning(
        "authentication rate limited",
        extra={
            "auth.scheme": scheme,
            "http.path": request.url.path,
            "retry_after": wait,
        },
    )
    raise HTTPException(
        429, detail="too many failed attempts", headers={"Retry-After": str(wait)}
    )


def count_failure(request: Request, scheme: str) -> None:
    """Count a failed attempt of ``scheme`` from this client."""
    limiter = cast(FailureLimiter, request.app.state.auth_failures)
    limiter.record_failure(_client_key(request, scheme))


def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def _realm(request: Request) -> str:
    name = _settings(request).service_name
    return name.replace("\\", "").replace('"', "")


def _unauthorized(
    request: Request,
    scheme: str,
    reason: str,
    *,
    invalid: bool = False,
) -> HTTPException:
    """Log the failure (never the secret) and build the 401 with its challenge."""
    logger.warning(
        "authentication failed",
        extra={
            "auth.scheme": scheme,
            "auth.reason": reason,
            "http.path": request.url.path,
        },
    )

    realm = _realm(request)
    if scheme == "basic":
        challenge = f'Basic realm="{realm}"'
    elif scheme in ("jwt", "oauth2"):
        challenge = f'Bearer realm="{realm}"'
        if invalid:
            # RFC 6750 section 3.1.
            challenge += ', error="invalid_token"'
    else:
        # No standard scheme exists for API keys; RFC 9110 still requires a
        # challenge on every 401.
        challenge = f'APIKey realm="{realm}", header="{API_KEY_HEADER}"'

    detail = "invalid credentials" if reason != "missing credentials" else reason
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": challenge})


def _forbidden(
    request: Request,
    scheme: str,
    required: tuple[str, ...],
    missing: list[str],
) -> HTTPException:
    """A valid token without the scope: 403 naming the scopes (RFC 6750 3.1)."""
    logger.warning(
        "authorization failed",
        extra={
            "auth.scheme": scheme,
            "auth.reason": f"missing scope {' '.join(missing)}",
            "http.path": request.url.path,
        },
    )
    challenge = (
        f'Bearer realm="{_realm(request)}", error="insufficient_scope", '
        f'scope="{" ".join(required)}"'
    )
    return HTTPException(
        403,
        detail="insufficient scope",
        headers={"WWW-Authenticate": challenge},
    )


require_basic = BasicAuth()
require_api_key = ApiKeyAuth()
require_admin = JWTAuth(READ_SCOPE, WRITE_SCOPE)
require_oauth_read = OAuth2Auth(READ_SCOPE)
