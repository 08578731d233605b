"""The inventory service: an HTTP dependency that reserves stock for orders.

Optional: without INVENTORY_URL orders skip the reservation and health does
not list it. The client is opened and closed by the lifespan like the
database, and calls go through the shared traced client of `http_client.py`.
"""

from __future__ import annotations

import httpx
from opentelemetry import trace

from reference_service.database import Order
from reference_service.errors import DependencyUnavailableError
from reference_service.http_client import create_http_client

NAME = "inventory"


class InventoryClient:
    """Reserves stock; `ping()` tells health checks the service answers."""

    def __init__(
        self,
        base_url: str,
        *,
        tracer: trace.Tracer,
        timeout: float,
        ping_timeout: float,
    ) -> None:
        self._base_url = base_url
        self._tracer = tracer
        self._timeout = timeout
        self._ping_timeout = ping_timeout
        self._http: httpx.AsyncClient | None = None

    def open(self) -> None:
        """Create the shared connection pool; called once from the lifespan."""
        self._http = create_http_client(self._tracer, self._timeout)

    async def close(self) -> None:
        """Close the pool; later calls raise DependencyUnavailableError."""
        http, self._http = self._http, None
        if http is not None:
            await http.aclose()

    async def ping(self) -> None:
        """GET /healthz under its own short timeout; raises unless it answers 2xx."""
        response = await self._client().get(
            f"{self._base_url}/healthz", timeout=self._ping_timeout
        )
        response.raise_for_status()

    async def reserve(self, order: Order) -> None:
        """Reserve stock for `order`; raises DependencyUnavailableError on failure."""
        try:
            response = await self._client().post(
                f"{self._base_url}/reservations",
                json={"order_id": order.id, "amount": order.amount, "type": order.type},
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise DependencyUnavailableError(NAME) from exc

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # Raised from a request: answered 502 like any other failure.
            raise DependencyUnavailableError(NAME)
        return self._http
