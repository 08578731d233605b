"""Users service: the guide's per-service and per-method security overrides.

`list` uses the service's API key, `admin` overrides it with a JWT needing
scopes, `me` with an OAuth2 access token needing `api:read`, and `public` opts
out of security explicitly.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from reference_service.api.deps import AdminClaims, ApiKey, OAuthReader
from reference_service.security import FORBIDDEN, UNAUTHORIZED, token_scopes

router = APIRouter(prefix="/users", tags=["users"])


class User(BaseModel):
    """A user as the API shows it."""

    id: str
    name: str


class AdminView(BaseModel):
    """What an administrator's token is allowed to see."""

    subject: str | None
    scopes: list[str]
    users: int


class Me(BaseModel):
    """Whom an OAuth2 access token speaks for, and what it may do."""

    subject: str
    client_id: str
    scopes: list[str]


class PublicInfo(BaseModel):
    """Information anyone may read."""

    service: str
    users: int


# Sample data; a real service reads its own store.
_USERS = (
    User(id="1", name="Ada"),
    User(id="2", name="Grace"),
)


@router.get("", response_model=list[User], responses=UNAUTHORIZED)
async def list_users(client: ApiKey) -> list[User]:
    """List users (API key)."""
    return list(_USERS)


@router.get("/admin", response_model=AdminView, responses={**UNAUTHORIZED, **FORBIDDEN})
async def admin(claims: AdminClaims) -> AdminView:
    """Administrative view (JWT with api:read and api:write)."""
    subject: Any = claims.get("sub")
    return AdminView(
        subject=subject if isinstance(subject, str) else None,
        scopes=sorted(token_scopes(claims)),
        users=len(_USERS),
    )


@router.get("/me", response_model=Me, responses={**UNAUTHORIZED, **FORBIDDEN})
async def me(token: OAuthReader) -> Me:
    """The caller's identity (OAuth2 access token with api:read)."""
    return Me(
        subject=token.subject,
        client_id=token.client_id,
        scopes=sorted(token.scopes),
    )


# `?delay=S` stands for slow work in shutdown drills (the conformance suite's
# expect.slow_request); hidden from OpenAPI so fuzzers do not spend time on it.
MAX_DELAY_S = 5.0


@router.get("/public", response_model=PublicInfo, openapi_extra={"security": []})
async def public(
    delay: Annotated[float, Query(ge=0, le=MAX_DELAY_S, include_in_schema=False)] = 0.0,
) -> PublicInfo:
    """Public information (no credentials)."""
    if delay:
        await asyncio.sleep(delay)
    return PublicInfo(service="users", users=len(_USERS))
