"""The OAuth2 authorization server: code flow with PKCE, refresh, client credentials."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from reference_service.app import create_app
from reference_service.settings import Settings, describe_errors
from reference_service.telemetry import Telemetry

pytestmark = pytest.mark.anyio

CLIENT_ID = "oauth-test-client"
CLIENT_SECRET = "oauth-test-client-secret-8d1f"
USER_PASSWORD = "oauth-test-user-password-2a6c"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
CLIENT = (CLIENT_ID, CLIENT_SECRET)


def _settings(tmp_path: Path, **values: Any) -> Settings:
    defaults: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path}/orders.db",
        "basic_auth_password": "oauth-test-basic-password",
        "api_keys": "oauth-test-key",
        "jwt_secret": "oauth-test-jwt-secret-0123456789abcdef",
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_redirect_uris": REDIRECT_URI,
        "oauth_user_password": USER_PASSWORD,
        "auth_failure_limit": 3,
    }
    return Settings(**(defaults | values))


async def _serve(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=base_url) as client,
    ):
        yield client


@pytest.fixture
def oauth_app(tmp_path: Path, telemetry: Telemetry) -> FastAPI:
    """The app with a demo client and user configured."""
    return create_app(_settings(tmp_path), telemetry)


@pytest.fixture
async def oauth(oauth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client reaching the app on loopback, where plain HTTP is allowed."""
    async for client in _serve(oauth_app, "http://127.0.0.1:8000"):
        yield client


async def _client_token(client: httpx.AsyncClient, scope: str | None) -> str:
    form = {"grant_type": "client_credentials"}
    if scope is not None:
        form["scope"] = scope
    response = await client.post("/token", data=form, auth=CLIENT)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _authorization_request(challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "api:read api:write",
        "state": "state-4f2a",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def _query(response: httpx.Response) -> dict[str, str]:
    location = urlsplit(response.headers["Location"])
    assert location._replace(query="").geturl() == REDIRECT_URI
    return {k: v[0] for k, v in parse_qs(location.query).items()}


async def _sign_in(client: httpx.AsyncClient, challenge: str) -> str:
    """Run /authorize as the demo user allowing access; return the code."""
    params = _authorization_request(challenge)
    response = await client.post(
        "/authorize",
        data={**params, "username": "demo", "password": USER_PASSWORD}
        | {"decision": "allow"},
    )
    assert response.status_code == 302, response.text
    answer = _query(response)
    assert answer["state"] == "state-4f2a"
    return answer["code"]


async def test_client_credentials_tokens_carry_the_scopes_asked_for(
    oauth: httpx.AsyncClient,
) -> None:
    """A client's token with api:read reads /users/me; one without gets 403."""
    reader = await _client_token(oauth, "api:read")
    scopeless = await _client_token(oauth, None)

    allowed = await oauth.get("/users/me", headers=_bearer(reader))
    refused = await oauth.get("/users/me", headers=_bearer(scopeless))

    assert allowed.status_code == 200
    assert allowed.json() == {
        "subject": CLIENT_ID,
        "client_id": CLIENT_ID,
        "scopes": ["api:read"],
    }
    assert refused.status_code == 403
    assert (
        'error="insufficient_scope", scope="api:read"'
        in (refused.headers["WWW-Authenticate"])
    )


async def test_token_answers_are_not_cached(oauth: httpx.AsyncClient) -> None:
    """Token responses say no-store (RFC 6749 section 5.1) and expire in 15 minutes."""
    response = await oauth.post(
        "/token", data={"grant_type": "client_credentials"}, auth=CLIENT
    )

    assert response.headers["Cache-Control"] == "no-store"
    assert response.json()["expires_in"] == 900
    assert response.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("auth", "form", "status", "error"),
    [
        ((CLIENT_ID, "wrong"), {"grant_type": "client_credentials"}, 401, None),
        (("nobody", "x"), {"grant_type": "client_credentials"}, 401, None),
        (CLIENT, {"grant_type": "password"}, 400, "unsupported_grant_type"),
        (
            CLIENT,
            {"grant_type": "client_credentials", "scope": "admin"},
            400,
            "invalid_scope",
        ),
    ],
    ids=["wrong-secret", "unknown-client", "password-grant", "unknown-scope"],
)
async def test_bad_token_requests_get_oauth_errors(
    oauth: httpx.AsyncClient,
    auth: tuple[str, str],
    form: dict[str, str],
    status: int,
    error: str | None,
) -> None:
    """Wrong clients, grants and scopes get RFC 6749 section 5.2 errors."""
    response = await oauth.post("/token", data=form, auth=auth)

    assert response.status_code == status
    assert response.json()["error"] == (error or "invalid_client")


async def test_unknown_and_malformed_tokens_get_401(oauth: httpx.AsyncClient) -> None:
    """No token, another scheme or an unknown token answer 401 with a challenge."""
    answers = [
        await oauth.get("/users/me"),
        await oauth.get("/users/me", headers={"Authorization": "Token abc"}),
        await oauth.get("/users/me", headers=_bearer("not-issued-here")),
    ]

    assert [r.status_code for r in answers] == [401, 401, 401]
    assert answers[0].headers["WWW-Authenticate"] == 'Bearer realm="reference-service"'
    assert 'error="invalid_token"' in answers[2].headers["WWW-Authenticate"]


async def test_the_authorization_code_flow_issues_the_users_token(
    oauth: httpx.AsyncClient,
) -> None:
    """Sign-in form, consent, code, token: /users/me then names the user."""
    verifier, challenge = _pkce()
    form = await oauth.get("/authorize", params=_authorization_request(challenge))
    code = await _sign_in(oauth, challenge)
    token = await oauth.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=CLIENT,
    )
    me = await oauth.get("/users/me", headers=_bearer(token.json()["access_token"]))

    assert form.status_code == 200
    assert form.headers["X-Frame-Options"] == "DENY"
    assert f"{CLIENT_ID} asks for: api:read api:write" in form.text
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "api:read api:write"
    assert "refresh_token" in token.json()
    assert me.json()["subject"] == "demo"


async def test_a_code_works_once_and_only_with_its_verifier(
    oauth: httpx.AsyncClient,
) -> None:
    """A wrong PKCE verifier is refused; a redeemed code cannot be redeemed again."""
    verifier, challenge = _pkce()
    code = await _sign_in(oauth, challenge)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }

    wrong = await oauth.post(
        "/token", data=exchange | {"code_verifier": _pkce()[0]}, auth=CLIENT
    )
    right = await oauth.post(
        "/token", data=exchange | {"code_verifier": verifier}, auth=CLIENT
    )
    again = await oauth.post(
        "/token", data=exchange | {"code_verifier": verifier}, auth=CLIENT
    )

    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    assert right.status_code == 200
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


async def test_denying_or_a_wrong_password_gives_no_code(
    oauth: httpx.AsyncClient,
) -> None:
    """Deny redirects with access_denied; a wrong password shows the form again."""
    params = _authorization_request(_pkce()[1])
    denied = await oauth.post("/authorize", data=params | {"decision": "deny"})
    wrong = await oauth.post(
        "/authorize",
        data=params | {"username": "demo", "password": "nope", "decision": "allow"},
    )

    assert denied.status_code == 302
    assert _query(denied)["error"] == "access_denied"
    assert wrong.status_code == 200
    assert "Wrong user name or password." in wrong.text
    assert "Location" not in wrong.headers


async def test_repeated_wrong_passwords_are_limited(oauth: httpx.AsyncClient) -> None:
    """Sign-in guessing is limited like Basic passwords: 429 with Retry-After."""
    params = _authorization_request(_pkce()[1])
    wrong = params | {"username": "demo", "password": "nope", "decision": "allow"}
    for _ in range(3):
        await oauth.post("/authorize", data=wrong)

    limited = await oauth.post(
        "/authorize",
        data=params
        | {"username": "demo", "password": USER_PASSWORD, "decision": "allow"},
    )

    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


async def test_unregistered_redirect_uris_are_never_followed(
    oauth: httpx.AsyncClient,
) -> None:
    """A redirect_uri not registered exactly is refused without redirecting."""
    params = _authorization_request(
        _pkce()[1], redirect_uri="http://127.0.0.1:8765/callback/evil"
    )

    response = await oauth.get("/authorize", params=params)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.json()["error"] == "invalid_request"


async def test_refresh_rotates_the_refresh_token(oauth: httpx.AsyncClient) -> None:
    """/refresh issues a new pair and retires the old one (RFC 9700 4.14.2)."""
    verifier, challenge = _pkce()
    code = await _sign_in(oauth, challenge)
    first = await oauth.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=CLIENT,
    )
    old = first.json()
    refresh = {"grant_type": "refresh_token", "refresh_token": old["refresh_token"]}

    renewed = await oauth.post("/refresh", data=refresh, auth=CLIENT)
    replayed = await oauth.post("/refresh", data=refresh, auth=CLIENT)
    old_access = await oauth.get("/users/me", headers=_bearer(old["access_token"]))
    new = renewed.json()
    via_token = await oauth.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]},
        auth=CLIENT,
    )

    assert renewed.status_code == 200
    assert new["refresh_token"] != old["refresh_token"]
    assert new["scope"] == "api:read api:write"
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
    assert old_access.status_code == 401
    assert via_token.status_code == 200


async def test_the_refresh_url_serves_only_the_refresh_grant(
    oauth: httpx.AsyncClient,
) -> None:
    """Client credentials are refused on /refresh; /token is where they go."""
    response = await oauth.post(
        "/refresh", data={"grant_type": "client_credentials"}, auth=CLIENT
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_plain_http_off_loopback_is_refused(oauth_app: FastAPI) -> None:
    """Off loopback the endpoints insist on HTTPS (RFC 6749 section 3.1)."""
    async for client in _serve(oauth_app, "http://api.example.com"):
        response = await client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=CLIENT
        )

    assert response.status_code == 400
    assert response.json()["error"] == "insecure_transport"


async def test_without_a_client_no_token_is_issued(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    """Unconfigured, the server knows no client and refuses every token request."""
    settings = _settings(tmp_path, oauth_client_id=None, oauth_client_secret=None)
    app = create_app(settings, telemetry)
    async for client in _serve(app, "http://127.0.0.1"):
        response = await client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=CLIENT
        )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_openapi_declares_the_flows_and_the_scoped_operation(
    oauth: httpx.AsyncClient,
) -> None:
    """The oauth2 scheme names the guide's URLs; /users/me requires api:read."""
    document = (await oauth.get("/openapi.json")).json()
    scheme = document["components"]["securitySchemes"]["oauth2"]
    code_flow = scheme["flows"]["authorizationCode"]

    assert scheme["type"] == "oauth2"
    assert (
        code_flow["authorizationUrl"],
        code_flow["tokenUrl"],
        code_flow["refreshUrl"],
    ) == ("/authorize", "/token", "/refresh")
    assert set(code_flow["scopes"]) == {"api:read", "api:write"}
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == "/token"
    assert document["paths"]["/users/me"]["get"]["security"] == [
        {"oauth2": ["api:read"]}
    ]
    assert not {"/authorize", "/token", "/refresh"} & set(document["paths"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"oauth_client_secret": None},
            "OAUTH_CLIENT_SECRET is invalid: is required when OAUTH_CLIENT_ID is set",
        ),
        (
            {"oauth_client_id": None},
            "OAUTH_CLIENT_SECRET is invalid: is set without OAUTH_CLIENT_ID",
        ),
        (
            {"oauth_redirect_uris": "/callback"},
            "OAUTH_REDIRECT_URIS='/callback' is invalid: '/callback' is not an "
            "absolute http(s) URL",
        ),
    ],
)
def test_oauth_settings_are_checked_on_start(
    tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    """A client needs both id and secret, and redirect URIs must be absolute."""
    with pytest.raises(ValidationError) as caught:
        _settings(tmp_path, **values)

    (error,) = describe_errors(caught.value)
    assert error.startswith(message)
