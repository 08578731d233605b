"""A plain FastAPI app with none of the production patterns, as most services start."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="plain")


@app.get("/items/{item_id}")
def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@app.post("/items")
def create_item(item: dict[str, str]) -> dict[str, str]:
    return item
