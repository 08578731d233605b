"""Orders repository on SQLite.

sqlite3 blocks, so each call runs in a worker thread and the event loop keeps
serving other requests. One connection is shared behind a lock: SQLite
serialises writers anyway, and one connection keeps `:memory:` usable in tests.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

_T = TypeVar("_T")
# rowid, id, amount, type; the rowid orders rows by insertion.
_Row = tuple[int, str, float, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    amount REAL NOT NULL,
    type TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Order:
    """One stored order."""

    id: str
    amount: float
    type: str

    @classmethod
    def new(cls, amount: float, type: str) -> Order:
        """An order under a fresh random id, not stored yet."""
        return cls(id=uuid.uuid4().hex, amount=amount, type=type)


class DatabaseClosedError(RuntimeError):
    """The repository was used before `open()` or after `close()`."""


class OrdersRepository:
    """Stores and reads orders; `ping()` tells health checks it still works."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    async def open(self) -> None:
        """Connect and create the schema; called once from the app's lifespan."""
        await asyncio.to_thread(self._open)

    async def close(self) -> None:
        """Close the connection; later calls raise DatabaseClosedError."""
        await asyncio.to_thread(self._close)

    async def ping(self) -> None:
        """Run a trivial query; raises when the database cannot answer."""
        await self._run(lambda db: db.execute("SELECT 1").fetchone())

    async def add_order(self, order: Order) -> None:
        """Store an order built with `Order.new`."""

        def insert(db: sqlite3.Connection) -> None:
            with db:
                db.execute(
                    "INSERT INTO orders (id, amount, type) VALUES (?, ?, ?)",
                    (order.id, order.amount, order.type),
                )

        await self._run(insert)

    async def recent_orders(self, limit: int) -> tuple[list[Order], int]:
        """The newest `limit` orders, oldest first, and a cursor for `orders_after`."""

        def select(db: sqlite3.Connection) -> list[_Row]:
            cursor = db.execute(
                "SELECT rowid, id, amount, type FROM orders"
                " ORDER BY rowid DESC LIMIT ?",
                (limit,),
            )
            rows: list[_Row] = cursor.fetchall()
            return rows[::-1]

        return _with_cursor(await self._run(select), after=0)

    async def orders_after(self, cursor: int, limit: int) -> tuple[list[Order], int]:
        """Up to `limit` orders stored after `cursor`, oldest first, and the next cursor."""

        def select(db: sqlite3.Connection) -> list[_Row]:
            rows: list[_Row] = db.execute(
                "SELECT rowid, id, amount, type FROM orders"
                " WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (cursor, limit),
            ).fetchall()
            return rows

        return _with_cursor(await self._run(select), after=cursor)

    async def get_order(self, order_id: str) -> Order | None:
        """Return the order with this id, or None when there is none."""

        def select(db: sqlite3.Connection) -> tuple[str, float, str] | None:
            cursor = db.execute(
                "SELECT id, amount, type FROM orders WHERE id = ?",
                (order_id,),
            )
            row: tuple[str, float, str] | None = cursor.fetchone()
            return row

        row = await self._run(select)
        if row is None:
            return None

        return Order(id=row[0], amount=row[1], type=row[2])

    async def _run(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        with self._lock:
            if self._connection is None:
                msg = "the orders database is not open"
                raise DatabaseClosedError(msg)
            return work(self._connection)

    def _open(self) -> None:
        connection = sqlite3.connect(self._path, check_same_thread=False, timeout=5)
        with connection:
            connection.execute(_SCHEMA)
        with self._lock:
            self._connection = connection

    def _close(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


def _with_cursor(rows: list[_Row], after: int) -> tuple[list[Order], int]:
    orders = [Order(id, amount, type) for _, id, amount, type in rows]
    return orders, rows[-1][0] if rows else after
