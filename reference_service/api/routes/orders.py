"""Orders: the API-wide default security (Basic) applies to every operation."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from reference_service.api.deps import BasicUser, Repo
from reference_service.errors import ErrorDetail
from reference_service.security import UNAUTHORIZED

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/orders", tags=["orders"], responses=UNAUTHORIZED)


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


@router.post("", status_code=201, response_model=OrderOut)
async def create_order(body: OrderIn, user: BasicUser, repo: Repo) -> OrderOut:
    """Store an order and return it with its new id."""
    order = await repo.create_order(body.amount, body.type)
    logger.info(
        "processing order",
        extra={"order_id": order.id, "amount": order.amount},
    )

    return OrderOut(id=order.id, amount=order.amount, type=order.type)


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    responses={404: {"model": ErrorDetail, "description": "No such order."}},
)
async def get_order(
    order_id: Annotated[str, Path(min_length=1, max_length=64)],
    user: BasicUser,
    repo: Repo,
) -> OrderOut:
    """Return one order by id."""
    order = await repo.get_order(order_id)
    if order is None:
        raise HTTPException(404, detail="order not found")

    return OrderOut(id=order.id, amount=order.amount, type=order.type)
