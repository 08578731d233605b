"""Orders repository on PostgreSQL, chosen by a `postgresql://` DATABASE_URL.

It keeps the SQLite repository's interface, so routes and health do not care
which one runs. One connection behind a lock, as with SQLite; a connection that
failed or was interrupted (a health ping timing out while the database stalls)
is thrown away and the next call connects again, which is how the service
recovers when the database comes back. Every call is bounded by the dependency
timeout, so a stalled database makes requests fail instead of hang.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg

from reference_service.database import Order, OrdersRepository

_T = TypeVar("_T")
_Row = tuple[int, str, float, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    seq BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    amount DOUBLE PRECISION NOT NULL,
    type TEXT NOT NULL
)
"""
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


class PostgresOrdersRepository(OrdersRepository):
    """Stores orders in PostgreSQL through psycopg's asyncio connection."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(":memory:")
        self._url = url
        self._timeout = timeout
        self._connect_timeout = max(2, int(timeout + 0.999))
        self._pg: psycopg.AsyncConnection[Any] | None = None
        self._pg_lock = asyncio.Lock()
        self._closed = True

    async def open(self) -> None:
        """Connect and create the schema; start-up fails when the database is down."""
        self._closed = False
        await self._call(lambda db: db.execute(_SCHEMA))

    async def close(self) -> None:
        self._closed = True
        connection, self._pg = self._pg, None
        if connection is not None:
            await connection.close()

    async def ping(self) -> None:
        await self._call(lambda db: db.execute("SELECT 1"))

    async def add_order(self, order: Order) -> None:
        await self._call(
            lambda db: db.execute(
                "INSERT INTO orders (id, amount, type) VALUES (%s, %s, %s)",
                (order.id, order.amount, order.type),
            )
        )

    async def recent_orders(self, limit: int) -> tuple[list[Order], int]:
        rows = await self._rows(
            "SELECT seq, id, amount, type FROM orders ORDER BY seq DESC LIMIT %s",
            (limit,),
        )
        return _with_cursor(rows[::-1], after=0)

    async def orders_after(self, cursor: int, limit: int) -> tuple[list[Order], int]:
        rows = await self._rows(
            "SELECT seq, id, amount, type FROM orders WHERE seq > %s"
            " ORDER BY seq LIMIT %s",
            (cursor, limit),
        )
        return _with_cursor(rows, after=cursor)

    async def get_order(self, order_id: str) -> Order | None:
        rows = await self._rows(
            "SELECT 0, id, amount, type FROM orders WHERE id = %s", (order_id,)
        )
        return _with_cursor(rows, after=0)[0][0] if rows else None

    async def _rows(self, query: str, params: tuple[Any, ...]) -> list[_Row]:
        async def fetch(db: psycopg.AsyncConnection[Any]) -> list[_Row]:
            cursor = await db.execute(query, params)
            return [
                (int(r[0]), str(r[1]), float(r[2]), str(r[3]))
                for r in await cursor.fetchall()
            ]

        return await self._call(fetch)

    async def _call(
        self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[_T]]
    ) -> _T:
        if self._closed:
            msg = "the orders database is not open"
            raise RuntimeError(msg)
        async with self._pg_lock:
            try:
                return await asyncio.wait_for(self._work(work), self._timeout)
            except BaseException:
                # Interrupted or failed: the connection's state is unknown.
                self._discard()
                raise

    async def _work(
        self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[_T]]
    ) -> _T:
        if self._pg is None:
            self._pg = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, connect_timeout=self._connect_timeout
            )
        return await work(self._pg)

    def _discard(self) -> None:
        connection, self._pg = self._pg, None
        if connection is not None:
            connection.pgconn.finish()


def _with_cursor(rows: list[_Row], after: int) -> tuple[list[Order], int]:
    orders = [Order(id, amount, type) for _, id, amount, type in rows]
    return orders, rows[-1][0] if rows else after
