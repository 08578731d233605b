"""Users service: the guide's per-service and per-method security overrides.

`list` uses the service's API key, `admin` overrides it with a JWT needing
scopes, and `public` opts out of security explicitly.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from reference_service.api.deps import AdminClaims, ApiKey
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


@router.get("/public", response_model=PublicInfo, openapi_extra={"security": []})
async def public() -> PublicInfo:
    """Public information (no credentials)."""
    return PublicInfo(service="users", users=len(_USERS))
