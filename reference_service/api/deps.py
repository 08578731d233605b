"""Annotated dependency aliases the route modules share.

Routes declare what they need in their signature (`user: BasicUser`), which
both enforces it and documents it in OpenAPI.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import Depends, Request
from opentelemetry.trace import Tracer

from reference_service.database import OrdersRepository
from reference_service.inventory import InventoryClient
from reference_service.oauth import IssuedToken
from reference_service.security import (
    JWTAuth,
    require_admin,
    require_api_key,
    require_basic,
    require_oauth_read,
)
from reference_service.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with (tests may pass their own)."""
    return cast(Settings, request.app.state.settings)


def get_repository(request: Request) -> OrdersRepository:
    """The repository opened by the app's lifespan."""
    return cast(OrdersRepository, request.app.state.repository)


def get_inventory(request: Request) -> InventoryClient | None:
    """The inventory client, or None when INVENTORY_URL is not set."""
    return cast(InventoryClient | None, request.app.state.inventory)


def get_app_tracer(request: Request) -> Tracer:
    """The tracer of the app's telemetry, for spans inside an operation."""
    return cast(Tracer, request.app.state.tracer)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
Repo = Annotated[OrdersRepository, Depends(get_repository)]
Inventory = Annotated[InventoryClient | None, Depends(get_inventory)]
AppTracer = Annotated[Tracer, Depends(get_app_tracer)]

BasicUser = Annotated[str, Depends(require_basic)]
ApiKey = Annotated[str, Depends(require_api_key)]
# Any valid token; an operation needing scopes declares its own alias, as
# AdminClaims does, so the scopes reach the OpenAPI document.
JwtClaims = Annotated[dict[str, Any], Depends(JWTAuth())]
AdminClaims = Annotated[dict[str, Any], Depends(require_admin)]
OAuthReader = Annotated[IssuedToken, Depends(require_oauth_read)]
