"""HTTP API: dependencies in `deps`, one module per resource in `routes`."""

from __future__ import annotations

from fastapi import APIRouter

from reference_service.api.routes import oauth, orders, users

api_router = APIRouter()
api_router.include_router(orders.router)
api_router.include_router(users.router)
api_router.include_router(oauth.router)
