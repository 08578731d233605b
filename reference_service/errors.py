"""How errors look on the wire: always JSON, never a stack trace or an echo.

Validation errors drop the offending input, which may hold a password or a
token, unhandled exceptions become a bare 500 while the traceback goes to the
log only, and a dependency that fails becomes a 502 naming it.
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


class ErrorMessage(BaseModel):
    """The body of a 5xx answer."""

    error: str


class DependencyUnavailableError(Exception):
    """A dependency the request needs failed: refused, timed out or answered 5xx.

    Raise it `from` the original exception; the answer is 502 and the cause
    goes to the log and the trace, not to the client.
    """

    def __init__(self, dependency: str) -> None:
        super().__init__(f"{dependency} unavailable")
        self.dependency = dependency


BAD_GATEWAY: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorMessage, "description": "A dependency did not answer."},
}


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer 422 with where and why, but not the rejected value itself."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    details = [
        {"type": error["type"], "loc": list(error["loc"]), "msg": error["msg"]}
        for error in errors
    ]
    return JSONResponse({"detail": details}, status_code=422)


async def dependency_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Answer 502 naming the dependency; log the cause with the request's context."""
    dependency = getattr(exc, "dependency", "dependency")
    logger.error(
        "dependency unavailable",
        exc_info=exc.__cause__ or exc,
        extra={
            "dependency": dependency,
            "error": repr(exc.__cause__ or exc),
            "http.method": request.method,
            "http.path": request.url.path,
        },
    )
    return JSONResponse({"error": f"{dependency} unavailable"}, status_code=502)


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
    app.add_exception_handler(DependencyUnavailableError, dependency_unavailable)
    app.add_exception_handler(Exception, internal_error)


def error_responses() -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the errors every operation can answer."""
    return {500: {"description": "Internal server error; details are in the log."}}
