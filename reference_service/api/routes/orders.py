"""Orders: the API-wide default security (Basic) applies to every operation.

Creating an order is the guide's tracing example: a `create_order` span with
the order's id, amount and type, around the stock reservation at the
inventory service (a CLIENT span of its own) and the insert. The stream of
orders shows a response that outlives its handler: its span ends with the
last line, not when the handler returns.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import StreamingResponse
from opentelemetry.trace import StatusCode
from opentelemetry.util.types import AttributeValue
from pydantic import BaseModel, ConfigDict, Field

from reference_service.api.deps import AppTracer, BasicUser, Inventory, Repo
from reference_service.database import Order, OrdersRepository
from reference_service.errors import BAD_GATEWAY, ErrorDetail
from reference_service.health import Health
from reference_service.metrics import AppMetrics
from reference_service.security import UNAUTHORIZED

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/orders", tags=["orders"], responses=UNAUTHORIZED)

# Order ids are uuid4 hex strings; the pattern also keeps ids apart from /orders/stream.
ORDER_ID_PATTERN = "^[0-9a-f]{32}$"

# How often a followed stream looks for new orders, and how long it may last.
FOLLOW_POLL_S = 0.1
MAX_FOLLOW_S = 300


class OrderIn(BaseModel):
    """A new order; unknown fields are refused rather than ignored."""

    model_config = ConfigDict(extra="forbid")

    amount: float = Field(gt=0, allow_inf_nan=False)
    type: str = Field(min_length=1, max_length=64)


class OrderOut(BaseModel):
    """A stored order."""

    id: str
    amount: float
    type: str


@router.post("", status_code=201, response_model=OrderOut, responses=BAD_GATEWAY)
async def create_order(
    body: OrderIn,
    user: BasicUser,
    repo: Repo,
    inventory: Inventory,
    tracer: AppTracer,
    metrics: AppMetrics,
) -> OrderOut:
    """Reserve stock, store the order and return it with its new id."""
    started = time.perf_counter()
    order = Order.new(body.amount, body.type)
    attributes: dict[str, AttributeValue] = {
        "order.id": order.id,
        "order.amount": order.amount,
        "order.type": order.type,
    }
    with tracer.start_as_current_span(
        "create_order",
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        logger.info(
            "processing order",
            extra={"order_id": order.id, "amount": order.amount},
        )
        try:
            # Reserve first: when the inventory fails, nothing was stored.
            if inventory is not None:
                await inventory.reserve(order)
            await repo.add_order(order)
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(StatusCode.ERROR, str(exc))
            raise

    metrics.record_order(order.type, time.perf_counter() - started)
    return OrderOut(id=order.id, amount=order.amount, type=order.type)


class NdjsonResponse(StreamingResponse):
    """Newline-delimited JSON: one object per line, sent as it is read."""

    media_type = "application/x-ndjson"


@router.get(
    "/stream",
    response_class=NdjsonResponse,
    responses={
        200: {
            "description": "One order per line as a JSON object, oldest first.",
            "content": {"application/x-ndjson": {}},
        },
    },
)
async def stream_orders(
    request: Request,
    user: BasicUser,
    repo: Repo,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    follow: Annotated[float, Query(ge=0, le=MAX_FOLLOW_S)] = 0,
) -> NdjsonResponse:
    """Stream the latest orders as NDJSON, then new ones for `follow` seconds."""
    health: Health = request.app.state.health
    return NdjsonResponse(_order_lines(repo, limit, follow, health))


async def _order_lines(
    repo: OrdersRepository, limit: int, follow_s: float, health: Health
) -> AsyncIterator[bytes]:
    orders, cursor = await repo.recent_orders(limit)
    for order in orders:
        yield _line(order)

    # Bounded by `follow`; a client that leaves ends it sooner (Starlette
    # cancels the stream on disconnect), and so does shutdown: a followed
    # stream must not hold the process past its grace period.
    deadline = time.monotonic() + follow_s
    while (remaining := deadline - time.monotonic()) > 0:
        if health.shutting_down:
            return
        await asyncio.sleep(min(FOLLOW_POLL_S, remaining))
        orders, cursor = await repo.orders_after(cursor, limit)
        for order in orders:
            yield _line(order)


def _line(order: Order) -> bytes:
    body = {"id": order.id, "amount": order.amount, "type": order.type}
    return json.dumps(body).encode() + b"\n"


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    responses={404: {"model": ErrorDetail, "description": "No such order."}},
)
async def get_order(
    order_id: Annotated[str, Path(pattern=ORDER_ID_PATTERN)],
    user: BasicUser,
    repo: Repo,
) -> OrderOut:
    """Return one order by id."""
    order = await repo.get_order(order_id)
    if order is None:
        raise HTTPException(404, detail="order not found")

    return OrderOut(id=order.id, amount=order.amount, type=order.type)
