"""Broken and hostile targets: servers that misbehave at the socket level.

Each target is a small raw-socket server on 127.0.0.1, port 0, serving from named
daemon threads and stopped by its context manager. Every behaviour is bounded: a
dripping server sends at most a fixed number of bytes, an endless body stops after a
fixed size, a silent server lets go when the target stops. They exist to prove that the
checker ends its run in bounded time with one-line reasons, whatever the target does.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

import trustme

MAX_CONNECTIONS: Final = 2_000
MAX_HOLD_S: Final = 120.0
DRIP_MAX_BYTES: Final = 40
ENDLESS_MAX_BYTES: Final = 64 << 20
HUGE_HEADER_BYTES: Final = 4 << 20
REQUEST_HEAD_LIMIT: Final = 64 << 10

Handler = Callable[[socket.socket, threading.Event], None]


class HostileServer:
    """Accepts connections on a free loopback port and hands each to ``handler``."""

    def __init__(self, name: str, handler: Handler) -> None:
        self.name = name
        self._handler = handler
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._threads: list[threading.Thread] = []
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        accept = threading.Thread(
            target=self._accept, name=f"hostile-{self.name}", daemon=True
        )
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=2.0)

    def _accept(self) -> None:
        for _ in range(MAX_CONNECTIONS):
            conn = self._next_connection()
            if conn is None:
                return
            worker = threading.Thread(
                target=self._serve, args=(conn,), name=f"hostile-{self.name}-conn"
            )
            worker.daemon = True
            worker.start()
            self._threads.append(worker)

    def _next_connection(self) -> socket.socket | None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return None
            return conn
        return None

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError), conn:
            conn.settimeout(2.0)
            self._handler(conn, self._stop)


# Helpers the handlers share.


def read_head(conn: socket.socket) -> bytes:
    """Read a request head (up to the blank line), bounded in size and time."""
    data = b""
    deadline = time.monotonic() + 5.0
    while b"\r\n\r\n" not in data and len(data) < REQUEST_HEAD_LIMIT:
        if time.monotonic() > deadline:
            break
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    return data


def request_path(head: bytes) -> str:
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode("latin-1") if len(parts) >= 2 else "/"


def hold(stop: threading.Event, seconds: float = MAX_HOLD_S) -> None:
    """Keep a connection open without a word until the server stops."""
    stop.wait(seconds)


def respond(
    conn: socket.socket,
    status: str,
    body: bytes,
    content_type: str,
    extra: list[tuple[str, str]] | None = None,
) -> None:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    headers += extra or []
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    conn.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n" + body)


# The behaviours.


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, read the request, and never answer."""
    read_head(conn)
    hold(stop)


def resets(conn: socket.socket, stop: threading.Event) -> None:
    """Close every connection with a TCP reset (SO_LINGER zero)."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def garbage(conn: socket.socket, stop: threading.Event) -> None:
    """Answer any request with bytes that are not HTTP."""
    read_head(conn)
    conn.sendall(bytes(range(256)) * 4 + b"\x00\xff not http at all\r\n\r\n")


def unfinished_headers(conn: socket.socket, stop: threading.Event) -> None:
    """Send a status line and one header, then never finish the head."""
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
    hold(stop)


def huge_headers(conn: socket.socket, stop: threading.Event) -> None:
    """Answer with megabytes of response headers before an empty body."""
    read_head(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n")
    line = b"X-Filler: " + b"a" * 8_000 + b"\r\n"
    for _ in range(HUGE_HEADER_BYTES // len(line)):
        if stop.is_set():
            return
        conn.sendall(line)
    conn.sendall(b"\r\n")


def endless_chunked(conn: socket.socket, stop: threading.Event) -> None:
    """Answer 200 with a chunked body that goes on (up to a fixed size)."""
    read_head(conn)
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"[" * 16_384
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    for _ in range(ENDLESS_MAX_BYTES // len(chunk)):
        if stop.is_set():
            return
        conn.sendall(frame)


def drip(conn: socket.socket, stop: threading.Event) -> None:
    """Send a response one byte a second, at most DRIP_MAX_BYTES bytes."""
    read_head(conn)
    response = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
    for byte in response[:DRIP_MAX_BYTES]:
        if stop.wait(1.0):
            return
        conn.sendall(bytes([byte]))


WRONG_BODIES: Final = {
    "/openapi.json": ("text/html", b"<html><body>not a document</body></html>"),
    "/openapi3.json": ("application/json", b'{"openapi": "3.1.0", "paths": {'),
    "/openapi.yaml": ("application/yaml", b"openapi: [3.1\n  paths: {{{\n\t- :"),
    "/healthz": ("application/xml", b"<health><status>up</status></health>"),
    "/metrics": ("application/json", b"\xff\xfe\x00 not an exposition"),
}


def wrong_types(conn: socket.socket, stop: threading.Event) -> None:
    """Answer with content types that lie and bodies that do not parse."""
    path = request_path(read_head(conn)).split("?")[0]
    content_type, body = WRONG_BODIES.get(
        path, ("application/json", b"{'single': quotes, not json")
    )
    respond(conn, "200 OK", body, content_type)


def redirect_loop(conn: socket.socket, stop: threading.Event) -> None:
    """Redirect every path to a second one, which redirects back."""
    path = request_path(read_head(conn))
    target = path[: -len("/again")] if path.endswith("/again") else path + "/again"
    respond(conn, "302 Found", b"", "text/plain", [("Location", target or "/")])


def tls_handler() -> Handler:
    """Speak TLS on the plain port: the plain HTTP request meets a TLS server."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)

    def speak_tls(conn: socket.socket, stop: threading.Event) -> None:
        with context.wrap_socket(conn, server_side=True) as wrapped:
            wrapped.recv(1024)

    return speak_tls


def document_server(text: str) -> Handler:
    """Serve ``text`` as /openapi.json and a plain 200 JSON body elsewhere."""

    def serve_document(conn: socket.socket, stop: threading.Event) -> None:
        path = request_path(read_head(conn)).split("?")[0]
        if path == "/openapi.json":
            respond(conn, "200 OK", text.encode(), "application/json")
        else:
            respond(conn, "200 OK", b'{"ok": true}', "application/json")

    return serve_document


# OpenAPI documents that break parsers in different ways.

INVALID_YAML_DOCUMENT: Final = "openapi: 3.1.0\npaths: [\n  /a: {get: \n\t- ]]: :"


def cyclic_document() -> str:
    """A valid document whose schemas refer to each other in a cycle."""
    body = {"$ref": "#/components/schemas/A"}
    operation = {
        "security": [],
        "requestBody": {"content": {"application/json": {"schema": body}}},
        "responses": {"200": {"description": "ok"}},
    }
    schemas = {
        "A": {
            "type": "object",
            "properties": {"b": {"$ref": "#/components/schemas/B"}},
        },
        "B": {
            "type": "object",
            "properties": {"a": {"$ref": "#/components/schemas/A"}},
        },
        "C": {"$ref": "#/components/schemas/D"},
        "D": {"$ref": "#/components/schemas/C"},
    }
    paths = {
        "/loop": {"post": operation},
        "/self": {
            "get": {
                "security": [],
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "schema": {"$ref": "#/components/schemas/C"},
                    }
                ],
                "responses": {"200": {"description": "ok"}},
            }
        },
    }
    document = {
        "openapi": "3.1.0",
        "info": {"title": "cycles", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json.dumps(document)


def huge_document(size_bytes: int = 24 << 20) -> str:
    """A document larger than the suite reads, padded in one description."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": "huge", "version": "1", "description": "x" * size_bytes},
        "paths": {},
    }
    return json.dumps(document)


@dataclass(frozen=True)
class Hostile:
    """A named broken target and how to build its handler."""

    name: str
    handler: Callable[[], Handler]


HOSTILE_TARGETS: Final = (
    Hostile("silent", lambda: silent),
    Hostile("resets", lambda: resets),
    Hostile("garbage", lambda: garbage),
    Hostile("unfinished-headers", lambda: unfinished_headers),
    Hostile("huge-headers", lambda: huge_headers),
    Hostile("endless-chunked", lambda: endless_chunked),
    Hostile("drip", lambda: drip),
    Hostile("wrong-types", lambda: wrong_types),
    Hostile("redirect-loop", lambda: redirect_loop),
    Hostile("tls-on-plain-port", tls_handler),
    Hostile("openapi-invalid-yaml", lambda: document_server(INVALID_YAML_DOCUMENT)),
    Hostile("openapi-ref-cycles", lambda: document_server(cyclic_document())),
    Hostile("openapi-huge", lambda: document_server(huge_document())),
)


@contextlib.contextmanager
def hostile_target(hostile: Hostile) -> Iterator[HostileServer]:
    """Run one hostile target for the duration of the block."""
    with HostileServer(hostile.name, hostile.handler()) as server:
        yield server
