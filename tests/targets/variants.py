"""Broken variants of the reference service, each lacking exactly one pattern.

Every factory wraps the real reference app in a small ASGI layer that breaks one thing,
so a check that fails on a variant fails because of that one thing. Run one with
``uvicorn --factory tests.targets.variants:NAME``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from reference_service.app import create_app

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Edit = Callable[
    [int, list[tuple[bytes, bytes]], bytes],
    tuple[int, list[tuple[bytes, bytes]], bytes],
]


async def respond(
    send: Send, status: int, body: Any, content_type: str = "application/json"
) -> None:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def has_credentials(scope: Scope) -> bool:
    names = {name.lower() for name, _ in scope.get("headers", [])}
    return b"authorization" in names or b"x-api-key" in names


class EditResponses:
    """Buffers the inner app's answers on chosen paths and lets ``edit`` rewrite them."""

    def __init__(self, app: ASGIApp, edit: Edit, paths: set[str] | None = None) -> None:
        self.app = app
        self.edit = edit
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.paths is not None and scope["path"] not in self.paths
        ):
            await self.app(scope, receive, send)
            return

        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        status, headers, body = self.edit(
            start["status"], list(start.get("headers", [])), b"".join(chunks)
        )
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})


class Intercept:
    """Answers ``path`` (any path for ``None``) itself when ``when(scope)`` holds."""

    def __init__(
        self,
        app: ASGIApp,
        path: str | None,
        answer: Callable[[Scope, Send], Awaitable[None]],
        when: Callable[[Scope], bool] = lambda scope: True,
    ) -> None:
        self.app = app
        self.path = path
        self.answer = answer
        self.when = when

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        wanted = self.path is None or scope.get("path") == self.path
        if scope["type"] == "http" and wanted and self.when(scope):
            await self.answer(scope, send)
            return
        await self.app(scope, receive, send)


def edit_openapi(change: Callable[[dict[str, Any]], None]) -> ASGIApp:
    def edit(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        document = json.loads(body)
        change(document)
        return status, headers, json.dumps(document).encode()

    return EditResponses(create_app(), edit, {"/openapi.json"})


# Health (HLT) -----------------------------------------------------------------------


def health_needs_credentials() -> ASGIApp:
    async def refuse(scope: Scope, send: Send) -> None:
        await respond(send, 401, {"detail": "missing credentials"})

    return Intercept(
        create_app(), "/healthz", refuse, when=lambda s: not has_credentials(s)
    )


def health_plain_text() -> ASGIApp:
    async def plain(scope: Scope, send: Send) -> None:
        await respond(send, 200, b"OK", content_type="text/plain")

    return Intercept(create_app(), "/healthz", plain)


def health_without_dependencies() -> ASGIApp:
    async def bare(scope: Scope, send: Send) -> None:
        await respond(send, 200, {"uptime": 1, "version": "0.1.0"})

    return Intercept(create_app(), "/healthz", bare)


def health_leaks_connection_string() -> ASGIApp:
    async def leaky(scope: Scope, send: Send) -> None:
        body = {
            "uptime": 1,
            "version": "0.1.0",
            "status": {"database": "OK"},
            "database_url": "postgres://orders:hunter2-leaked@db:5432/orders",
        }
        await respond(send, 200, body)

    return Intercept(create_app(), "/healthz", leaky)


def health_slow() -> ASGIApp:
    async def slow(scope: Scope, send: Send) -> None:
        await asyncio.sleep(1.5)
        await respond(
            send, 200, {"uptime": 1, "version": "0.1.0", "status": {"database": "OK"}}
        )

    return Intercept(create_app(), "/healthz", slow)


# Security model and authentication (SEC) ---------------------------------------------


def no_api_default() -> ASGIApp:
    return edit_openapi(lambda document: document.pop("security", None))


def dangling_scheme() -> ASGIApp:
    def change(document: dict[str, Any]) -> None:
        document["paths"]["/users"]["get"]["security"] = [{"sso": ["users:read"]}]

    return edit_openapi(change)


def forbidden_without_credentials() -> ASGIApp:
    def edit(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return (403 if status == 401 else status), headers, body

    return EditResponses(create_app(), edit)


def secured_served_anonymously() -> ASGIApp:
    async def serve_anyone(scope: Scope, send: Send) -> None:
        await respond(send, 200, [{"id": "u1", "name": "Ada"}])

    return Intercept(
        create_app(), "/users", serve_anyone, when=lambda s: not has_credentials(s)
    )


def no_challenge() -> ASGIApp:
    def edit(
        status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return (
            status,
            [(k, v) for k, v in headers if k.lower() != b"www-authenticate"],
            body,
        )

    return EditResponses(create_app(), edit)


def public_requires_credentials() -> ASGIApp:
    async def refuse(scope: Scope, send: Send) -> None:
        await respond(send, 401, {"detail": "missing credentials"})

    return Intercept(
        create_app(), "/users/public", refuse, when=lambda s: not has_credentials(s)
    )
