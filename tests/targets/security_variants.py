"""Variants of the reference service whose authentication lacks exactly one pattern.

Run with ``uvicorn --factory tests.targets.security_variants:NAME``; the settings come
from the environment as for the reference service itself.
"""

from __future__ import annotations

from typing import Any

import jwt
from starlette.middleware.cors import CORSMiddleware

import reference_service.security as security
from reference_service.app import create_app
from reference_service.settings import Settings
from tests.targets.variants import (
    ASGIApp,
    EditResponses,
    Intercept,
    Scope,
    Send,
    respond,
)


def tells_unknown_users_apart() -> ASGIApp:
    """Answers an unknown Basic user differently from a wrong password."""
    app = create_app()

    def unknown_user(scope: Scope) -> bool:
        header = dict(scope.get("headers", [])).get(b"authorization", b"")
        return header.startswith(b"Basic ") and b"tester" not in _decoded(header)

    async def no_such_user(scope: Scope, send: Send) -> None:
        await respond(send, 401, {"detail": "no such user"})

    return Intercept(app, None, no_such_user, when=unknown_user)


def verifies_no_signature() -> Any:
    def decode(token: str, settings: Settings) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        return claims

    security.decode_token = decode
    return create_app()


def takes_algorithm_from_token() -> Any:
    """Verifies with whatever algorithm the token's header names, `none` included."""

    def decode(token: str, settings: Settings) -> dict[str, Any]:
        algorithm = jwt.get_unverified_header(token).get("alg", "HS256")
        key = (
            None
            if algorithm.lower() == "none"
            else settings.jwt_secret.get_secret_value()
        )
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            options={"verify_signature": algorithm.lower() != "none"},
        )
        return claims

    security.decode_token = decode
    return create_app()


def does_not_require_exp() -> Any:
    original = security.decode_token

    def decode(token: str, settings: Settings) -> dict[str, Any]:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=["HS256"],
            options={"require": [], "verify_exp": True},
        )
        return claims if "exp" not in claims else original(token, settings)

    security.decode_token = decode
    return create_app()


def ignores_scopes() -> Any:
    security.token_scopes = lambda claims: {"api:read", "api:write"}
    return create_app()


def refuses_valid_api_keys() -> ASGIApp:
    def edit(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return (401 if status == 200 else status), headers, body

    return EditResponses(create_app(), edit, {"/users"})


def without_nosniff() -> ASGIApp:
    def edit(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        kept = [(k, v) for k, v in headers if k.lower() != b"x-content-type-options"]
        return status, kept, body

    return EditResponses(create_app(), edit)


def cacheable_authenticated_answers() -> ASGIApp:
    def edit(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        kept = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
        return status, [*kept, (b"cache-control", b"public, max-age=600")], body

    return EditResponses(create_app(), edit)


def reflects_any_origin() -> Any:
    app = create_app()
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=".*",
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    return app


def without_hsts() -> ASGIApp:
    """Serves HTTPS like the reference but never sends Strict-Transport-Security."""

    def edit(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        kept = [(k, v) for k, v in headers if k.lower() != b"strict-transport-security"]
        return status, kept, body

    return EditResponses(create_app(), edit)


def _decoded(header: bytes) -> bytes:
    import base64

    try:
        return base64.b64decode(header.split(b" ", 1)[1])
    except (ValueError, IndexError):
        return b""


def server_error_on_invalid_input() -> ASGIApp:
    """Lets invalid order bodies crash instead of answering 422."""

    def edit(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return (500 if status == 422 else status), headers, body

    return EditResponses(create_app(), edit, {"/orders"})
