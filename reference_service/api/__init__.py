"""HTTP API: dependencies in `deps`, one module per resource in `routes`."""

from __future__ import annotations

from fastapi import APIRouter

from reference_service.api.routes import oauth, orders, users

# The app includes each resource's router directly, not through a router of routers:
# FastAPI matches a request against routes one by one, and every level of nesting is
# matched again.
API_ROUTERS: tuple[APIRouter, ...] = (orders.router, users.router, oauth.router)
