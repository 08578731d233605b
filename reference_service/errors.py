"""How errors look on the wire: always JSON, never a stack trace or an echo.

Validation errors drop the offending input, which may hold a password or a
token, and unhandled exceptions become a bare 500 while the traceback goes to
the log only.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import Send

logger = logging.getLogger(__name__)

INTERNAL_ERROR_BODY = json.dumps({"error": "internal server error"}).encode()


class ErrorDetail(BaseModel):
    """The body of a 4xx answer."""

    detail: str


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer 422 with where and why, but not the rejected value itself."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    details = [
        {"type": error["type"], "loc": list(error["loc"]), "msg": error["msg"]}
        for error in errors
    ]
    return JSONResponse({"detail": details}, status_code=422)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Last resort for errors raised outside the error middleware."""
    log_unhandled(request.method, request.url.path, exc)
    return JSONResponse({"error": "internal server error"}, status_code=500)


def log_unhandled(method: str, path: str, exc: BaseException) -> None:
    """Log an unhandled exception with its traceback and the request's context."""
    logger.error(
        "unhandled error",
        exc_info=exc,
        extra={"http.method": method, "http.path": path},
    )


async def send_internal_error(send: Send) -> None:
    """Write the 500 answer straight to an ASGI `send`."""
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(INTERNAL_ERROR_BODY)).encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": INTERNAL_ERROR_BODY})


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on the app."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, internal_error)


def error_responses() -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors every operation can answer."""
    return {500: {"description": "Internal server error; details are in the log."}}
