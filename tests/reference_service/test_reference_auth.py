"""Authentication: challenges, refusals, scopes, headers and failure logs."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable

import httpx
import jwt
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.anyio

TokenFactory = Callable[..., str]

ORDER = {"amount": 12.5, "type": "book"}
BASIC_CHALLENGE = 'Basic realm="reference-service"'
BEARER_CHALLENGE = 'Bearer realm="reference-service"'


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_orders_without_credentials_get_401_with_basic_challenge(
    client: httpx.AsyncClient,
) -> None:
    """Basic-protected operations answer 401 and a Basic challenge to anonymous calls."""
    for response in (
        await client.post("/orders", json=ORDER),
        await client.get("/orders/abc"),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE
        assert response.json() == {"detail": "missing credentials"}


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient,
    password: str,
) -> None:
    """A wrong user name and a wrong password are indistinguishable 401s."""
    wrong_user = await client.post("/orders", json=ORDER, auth=("eve", password))
    wrong_password = await client.post("/orders", json=ORDER, auth=("admin", "nope"))

    assert wrong_user.status_code == wrong_password.status_code == 401
    assert wrong_user.json() == wrong_password.json()
    assert wrong_user.headers["WWW-Authenticate"] == BASIC_CHALLENGE


@pytest.mark.parametrize(
    "header",
    ["Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon").decode()],
)
async def test_malformed_basic_header_gets_401_with_challenge(
    client: httpx.AsyncClient,
    header: str,
) -> None:
    """A Basic header that does not decode is refused like a wrong password."""
    response = await client.get("/orders/abc", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == BASIC_CHALLENGE


async def test_valid_basic_credentials_create_and_read_an_order(
    client: httpx.AsyncClient,
    password: str,
) -> None:
    """With the right Basic credentials an order is stored and read back."""
    created = await client.post("/orders", json=ORDER, auth=("admin", password))
    assert created.status_code == 201
    order = created.json()
    assert order["amount"] == 12.5
    assert order["type"] == "book"
    assert len(order["id"]) == 32

    fetched = await client.get(f"/orders/{order['id']}", auth=("admin", password))
    assert fetched.status_code == 200
    assert fetched.json() == order

    missing = await client.get("/orders/" + "0" * 32, auth=("admin", password))
    assert missing.status_code == 404
    assert missing.json() == {"detail": "order not found"}


async def test_credentialed_answers_are_not_cached(
    client: httpx.AsyncClient,
    password: str,
) -> None:
    """Answers to requests carrying credentials say no-store; all say nosniff."""
    secured = await client.post("/orders", json=ORDER, auth=("admin", password))
    refused = await client.get("/users", headers={"X-API-Key": "wrong"})
    public = await client.get("/users/public")

    assert secured.headers["Cache-Control"] == "no-store"
    assert refused.headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in public.headers
    for response in (secured, refused, public):
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_users_list_requires_a_configured_api_key(
    client: httpx.AsyncClient,
    password: str,
    api_key: str,
) -> None:
    """The users list refuses a missing, unknown or misplaced key and accepts a good one."""
    missing = await client.get("/users")
    unknown = await client.get("/users", headers={"X-API-Key": "not-a-key"})
    in_query = await client.get("/users", params={"api_key": api_key})
    basic_instead = await client.get("/users", auth=("admin", password))
    accepted = await client.get("/users", headers={"X-API-Key": api_key})
    second_key = await client.get("/users", headers={"X-API-Key": "another-key"})

    for response in (missing, unknown, in_query, basic_instead):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("APIKey ")
    assert accepted.status_code == second_key.status_code == 200
    assert accepted.json()[0].keys() == {"id", "name"}


async def test_admin_without_token_gets_401_with_bearer_challenge(
    client: httpx.AsyncClient,
    password: str,
) -> None:
    """The JWT-protected operation challenges anonymous and non-bearer callers."""
    anonymous = await client.get("/users/admin")
    basic = await client.get("/users/admin", auth=("admin", password))

    for response in (anonymous, basic):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == BEARER_CHALLENGE


async def test_forged_and_invalid_tokens_get_401_invalid_token(
    client: httpx.AsyncClient,
    make_token: TokenFactory,
    jwt_secret: str,
) -> None:
    """Wrong signatures, alg none, expiry and a missing exp all answer invalid_token."""
    scopes = "api:read api:write"
    unsigned = jwt.encode(
        {"sub": "x", "scope": scopes, "exp": 2**31},
        key=None,
        algorithm="none",
    )
    tokens = {
        "wrong secret": make_token(scopes, secret="x" * 40),
        "expired": make_token(scopes, expires_in=-60),
        "alg none": unsigned,
        "not a jwt": "abc.def.ghi",
        "tampered": make_token(scopes)[:-4] + "AAAA",
        "no exp": jwt.encode({"sub": "x", "scope": scopes}, jwt_secret),
        "audience unasked": make_token(scopes, aud="someone-else"),
    }
    for name, token in tokens.items():
        response = await client.get("/users/admin", headers=_bearer(token))

        assert response.status_code == 401, name
        challenge = response.headers["WWW-Authenticate"]
        assert challenge == f'{BEARER_CHALLENGE}, error="invalid_token"', name


async def test_token_without_the_scope_gets_403_naming_it(
    client: httpx.AsyncClient,
    make_token: TokenFactory,
) -> None:
    """A valid token lacking api:write answers 403 insufficient_scope with the scopes."""
    response = await client.get("/users/admin", headers=_bearer(make_token("api:read")))

    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="reference-service", error="insufficient_scope", '
        'scope="api:read api:write"'
    )


@pytest.mark.parametrize("scopes", ["api:read api:write", ["api:write", "api:read"]])
async def test_token_with_the_scopes_is_accepted(
    client: httpx.AsyncClient,
    make_token: TokenFactory,
    scopes: str | list[str],
) -> None:
    """Scopes are read from a space-separated `scope` or a `scopes` list."""
    response = await client.get("/users/admin", headers=_bearer(make_token(scopes)))

    assert response.status_code == 200
    assert response.json() == {
        "subject": "tester",
        "scopes": ["api:read", "api:write"],
        "users": 2,
    }


async def test_issuer_and_audience_are_checked_when_configured(
    client: httpx.AsyncClient,
    make_token: TokenFactory,
    app: FastAPI,
) -> None:
    """With JWT_ISSUER and JWT_AUDIENCE set, tokens must carry both, matching."""
    app.state.settings = app.state.settings.model_copy(
        update={"jwt_issuer": "iss-1", "jwt_audience": "aud-1"},
    )
    scopes = "api:read api:write"

    good = make_token(scopes, iss="iss-1", aud="aud-1")
    wrong_issuer = make_token(scopes, iss="iss-2", aud="aud-1")
    no_audience = make_token(scopes, iss="iss-1")

    assert (await client.get("/users/admin", headers=_bearer(good))).status_code == 200
    for token in (wrong_issuer, no_audience):
        response = await client.get("/users/admin", headers=_bearer(token))
        assert response.status_code == 401


async def test_public_operation_needs_no_credentials(client: httpx.AsyncClient) -> None:
    """The explicitly public users operation answers 200 to anyone."""
    response = await client.get("/users/public")

    assert response.status_code == 200
    assert response.json() == {"service": "users", "users": 2}


async def test_rejected_credentials_are_logged_without_the_secret(
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    make_token: TokenFactory,
) -> None:
    """Each refusal logs "authentication failed" with scheme and reason, not the secret."""
    canary_password = "canary-password-5e1f"
    canary_key = "canary-key-8b3d"
    canary_token = make_token("api:read", secret="c" * 40)

    with caplog.at_level(logging.WARNING, logger="reference_service.security"):
        await client.get("/orders/1", auth=("admin", canary_password))
        await client.get("/users", headers={"X-API-Key": canary_key})
        await client.get("/users/admin", headers=_bearer(canary_token))

    failures = [r for r in caplog.records if r.getMessage() == "authentication failed"]
    assert [r.__dict__["auth.scheme"] for r in failures] == ["basic", "api_key", "jwt"]
    assert all(r.levelno == logging.WARNING for r in failures)
    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    for secret in (canary_password, canary_key, canary_token):
        assert secret not in logged
