"""The guide's OAuth2 scheme: an authorization server built on Authlib.

Grants on the token endpoint:

- `authorization_code` (RFC 6749 section 4.1) with PKCE (RFC 7636), the guide's
  flow: /authorize signs the user in and redirects back with a code;
- `refresh_token` (section 6), also served alone on /refresh, the guide's
  refresh URL; each refresh rotates the refresh token and revokes the old pair;
- `client_credentials` (section 4.4), so services and the conformance suite get
  a token without a browser.

Authlib does the protocol (validation, client authentication, error answers);
this module supplies what it leaves to the host: the client and user (one of
each, from the settings), in-memory stores for codes and tokens, and the bridge
from Starlette requests. Tokens are random strings kept by their SHA-256 only,
so a memory dump does not hand them out. A real service keeps clients, users
and tokens in its database and replaces the classes here one by one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, TypeVar

from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.oauth2 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    ClientMixin,
    OAuth2Payload,
    TokenMixin,
    UnsupportedGrantTypeError,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response

from reference_service.settings import Settings

logger = logging.getLogger(__name__)

READ_SCOPE: Final = "api:read"
WRITE_SCOPE: Final = "api:write"
SCOPES: Final = {READ_SCOPE: "Read access", WRITE_SCOPE: "Write access"}
AUTHORIZE_PATH: Final = "/authorize"
TOKEN_PATH: Final = "/token"
REFRESH_PATH: Final = "/refresh"

# RFC 6749 section 4.1.2 recommends at most ten minutes for a code.
CODE_LIFETIME_S: Final = 300
TOKEN_BYTES: Final = 42
MAX_ENTRIES: Final = 10_000
GRANT_TYPES: Final = frozenset(
    {"authorization_code", "refresh_token", "client_credentials"}
)
CLIENT_AUTH_METHODS: Final = ("client_secret_basic", "client_secret_post")

_Entry = TypeVar("_Entry")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    """The one registered client, confidential, with its redirect URIs."""

    client_id: str
    secret: str = field(repr=False)
    redirect_uris: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only an unambiguous registration may omit redirect_uri (RFC 6749 3.1.2.3).
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(s for s in scope.split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Exact matching, as RFC 9700 section 4.1.3 requires.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return _same(client_secret, self.secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass
class AuthorizationCode:
    """A code issued by /authorize, waiting for the client to redeem it once."""

    client_id: str
    user: str
    redirect_uri: str | None
    scope: str
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class IssuedToken(TokenMixin):  # type: ignore[misc]
    """An access token with its refresh token, stored by their digests."""

    access_digest: str
    refresh_digest: str | None
    client_id: str
    user: str | None
    scope: str
    expires_at: float
    refresh_expires_at: float
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int(self.expires_at - time.time()))

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str | None:
        return self.user

    @property
    def subject(self) -> str:
        """Who the token speaks for: the user, or the client for its own tokens."""
        return self.user or self.client_id

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())


class TokenStore:
    """Codes and tokens in memory, bounded, forgotten when they expire."""

    def __init__(self) -> None:
        self._codes: dict[str, AuthorizationCode] = {}
        self._access: dict[str, IssuedToken] = {}
        self._refresh: dict[str, IssuedToken] = {}

    def save_code(self, code: str, entry: AuthorizationCode) -> None:
        self._prune(self._codes, lambda e: e.expires_at)
        self._codes[_digest(code)] = entry

    def find_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code's entry while it is this client's and valid (until redeemed)."""
        entry = self._codes.get(_digest(code))
        if entry is None or entry.client_id != client_id:
            return None
        if time.time() >= entry.expires_at:
            del self._codes[_digest(code)]
            return None
        return entry

    def delete_code(self, entry: AuthorizationCode) -> None:
        for key, value in list(self._codes.items()):
            if value is entry:
                del self._codes[key]

    def save_token(self, token: IssuedToken) -> None:
        self._prune(self._access, lambda t: t.expires_at)
        self._prune(self._refresh, lambda t: t.refresh_expires_at)
        self._access[token.access_digest] = token
        if token.refresh_digest is not None:
            self._refresh[token.refresh_digest] = token

    def find_access(self, access_token: str) -> IssuedToken | None:
        """The token behind ``access_token`` while it is valid."""
        token = self._access.get(_digest(access_token))
        if token is None or token.revoked or token.is_expired():
            return None
        return token

    def find_refresh(self, refresh_token: str) -> IssuedToken | None:
        token = self._refresh.get(_digest(refresh_token))
        if token is None or token.revoked or time.time() >= token.refresh_expires_at:
            return None
        return token

    def revoke(self, token: IssuedToken) -> None:
        token.revoked = True
        self._access.pop(token.access_digest, None)
        if token.refresh_digest is not None:
            self._refresh.pop(token.refresh_digest, None)

    @staticmethod
    def _prune(entries: dict[str, _Entry], expiry: Callable[[_Entry], float]) -> None:
        """Drop expired entries; past the bound, drop the oldest too."""
        now = time.time()
        for key in [k for k, v in entries.items() if expiry(v) <= now]:
            del entries[key]
        while len(entries) >= MAX_ENTRIES:
            del entries[next(iter(entries))]


class _Payload(OAuth2Payload):  # type: ignore[misc]
    """Query and form parameters, each possibly repeated (Authlib checks that)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data: dict[str, str] = {}
        self._datalist: dict[str, list[str]] = {}
        for key, value in pairs:
            self._data.setdefault(key, value)
            self._datalist.setdefault(key, []).append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._datalist


class StarletteOAuthRequest(OAuth2Request):  # type: ignore[misc]
    """A request whose form was read already: Authlib's calls are synchronous."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: Headers,
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method, url, headers=headers)
        self._args = dict(query)
        self._form = dict(form)
        self.payload = _Payload(form + query)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        entry = AuthorizationCode(
            client_id=request.client.client_id,
            user=request.user,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "",
            expires_at=time.time() + CODE_LIFETIME_S,
            code_challenge=request.payload.data.get("code_challenge"),
            code_challenge_method=request.payload.data.get("code_challenge_method"),
        )
        _store(self.server).save_code(code, entry)

    def query_authorization_code(
        self, code: str, client: Client
    ) -> AuthorizationCode | None:
        return _store(self.server).find_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        _store(self.server).delete_code(authorization_code)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.user


class _RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)
    # Rotation (RFC 9700 section 4.14.2): a stolen refresh token works once.
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        return _store(self.server).find_refresh(refresh_token)

    def authenticate_user(self, refresh_token: IssuedToken) -> str | None:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        _store(self.server).revoke(refresh_token)


class _ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)


class OAuthServer(AuthorizationServer):  # type: ignore[misc]
    """Authlib's server wired to this service's client, user and stores."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.store = TokenStore()
        self.client = _client(settings)
        self.user = settings.oauth_user
        self._password = settings.oauth_user_password
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=_random_token,
                refresh_token_generator=_random_token,
                expires_generator=max(1, int(settings.oauth_token_lifetime)),
            ),
        )
        self.refresh_lifetime_s = settings.oauth_refresh_lifetime
        self.register_grant(_AuthorizationCodeGrant, [CodeChallenge(required=True)])
        self.register_grant(_RefreshTokenGrant)
        self.register_grant(_ClientCredentialsGrant)

    def check_user(self, username: str, password: str) -> bool:
        """The demo user's password, compared in constant time."""
        if self._password is None:
            return False
        user_ok = _same(username, self.user)
        password_ok = _same(password, self._password.get_secret_value())
        return user_ok and password_ok

    def query_client(self, client_id: str) -> Client | None:
        if self.client is None or not _same(client_id, self.client.client_id):
            return None
        return self.client

    def save_token(self, token: Mapping[str, Any], request: OAuth2Request) -> None:
        now = time.time()
        refresh = token.get("refresh_token")
        issued = IssuedToken(
            access_digest=_digest(token["access_token"]),
            refresh_digest=_digest(refresh) if refresh else None,
            client_id=request.client.client_id,
            user=request.user,
            scope=token.get("scope", ""),
            expires_at=now + int(token.get("expires_in", 0)),
            refresh_expires_at=now + self.refresh_lifetime_s if refresh else now,
        )
        self.store.save_token(issued)
        logger.info(
            "oauth2 token issued",
            extra={
                "oauth2.client_id": issued.client_id,
                "oauth2.grant_type": request.payload.grant_type,
                "oauth2.scope": issued.scope,
            },
        )

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        msg = "build a StarletteOAuthRequest from the Starlette request first"
        raise TypeError(msg)

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> Response:
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=dict(headers))
        return Response(body or b"", status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's hook for framework signals; nothing listens here."""

    def error_response(self, request: OAuth2Request, error: OAuth2Error) -> Response:
        """Authlib's answer to ``error``: JSON, or a redirect back to the client."""
        response: Response = self.handle_error_response(request, error)
        return response

    def token_response(self, request: OAuth2Request, refresh_only: bool) -> Response:
        """Answer a token request; the refresh URL accepts only the refresh grant."""
        if refresh_only and request.payload.grant_type != "refresh_token":
            error = UnsupportedGrantTypeError(request.payload.grant_type)
            return self.error_response(request, error)
        response: Response = self.create_token_response(request)
        return response


def _random_token(**_: Any) -> str:
    token: str = generate_token(TOKEN_BYTES)
    return token


def _client(settings: Settings) -> Client | None:
    if settings.oauth_client_id is None or settings.oauth_client_secret is None:
        return None
    return Client(
        client_id=settings.oauth_client_id,
        secret=settings.oauth_client_secret.get_secret_value(),
        redirect_uris=settings.oauth_redirect_uris,
    )


def _store(server: OAuthServer) -> TokenStore:
    return server.store
