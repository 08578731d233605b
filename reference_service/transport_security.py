"""TLS, HSTS and CORS: what keeps credentials on encrypted, same-site paths.

- TLS: with TLS_CERT_FILE and TLS_KEY_FILE the server itself speaks HTTPS,
  TLS 1.2 or newer (Python's default minimum for server contexts).
- HSTS: every answer sent over HTTPS tells browsers to use HTTPS only for a year
  (RFC 6797); over plain HTTP the header is meaningless and must not be sent
  (section 7.2), so it follows the connection, not the configuration. Behind a
  TLS-terminating proxy, uvicorn's proxy headers make the scheme `https`.
- CORS: only the origins in CORS_ALLOWED_ORIGINS may call from a browser, with
  credentials; no origin is ever reflected, and `*` and `null` are refused by
  the settings. Without origins no CORS header is sent at all.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_service.security import API_KEY_HEADER
from reference_service.settings import Settings

HSTS_VALUE: Final = "max-age=31536000"
CORS_METHODS: Final = ("GET", "POST")
CORS_HEADERS: Final = ("Authorization", "Content-Type", API_KEY_HEADER, "traceparent")
CORS_MAX_AGE_S: Final = 600


def tls_server_options(settings: Settings) -> dict[str, Any]:
    """Uvicorn's TLS options for this configuration; empty for plain HTTP."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return {}

    return {
        "ssl_certfile": settings.tls_cert_file,
        "ssl_keyfile": settings.tls_key_file,
    }


class StrictTransportSecurityMiddleware:
    """Adds `Strict-Transport-Security` to every answer sent over HTTPS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Strict-Transport-Security"] = HSTS_VALUE
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Allow the configured origins, with credentials; nothing when none are."""
    if not settings.cors_allowed_origins:
        return

    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_allowed_origins),
        allow_credentials=True,
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_HEADERS),
        max_age=CORS_MAX_AGE_S,
    )
