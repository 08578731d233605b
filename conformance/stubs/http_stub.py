"""An HTTP dependency stub: answers in the dependency's place, records, misbehaves.

When the suite launches a target it points each declared HTTP dependency's variable at
one of these. By default every request gets ``200 {"status": "OK"}``; on command the stub
answers 503, stalls without answering, resets connections or refuses them, so health,
tracing and resilience checks can see how the target copes. Built on the standard
library's threading HTTP server: the stub needs nothing a framework would add, and it
must be able to stop listening and reset sockets, which frameworks hide.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final, Literal

from conformance.launcher import LOOPBACK

Mode = Literal["ok", "503", "stall", "reset", "refuse"]
MODES: Final = ("ok", "503", "stall", "reset", "refuse")
MAX_STALL_S: Final = 120.0
MAX_BODY_BYTES: Final = 1 << 20
MAX_RECORDED: Final = 10_000


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class DependencyStub:
    """A named HTTP dependency on a loopback port, controlled by the checks."""

    def __init__(self, name: str, host: str = LOOPBACK, port: int = 0) -> None:
        self.name = name
        self._host = host
        self._port = port
        self._mode: Mode = "ok"
        self._released = threading.Event()
        self._condition = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def mode(self) -> Mode:
        return self._mode

    def __enter__(self) -> DependencyStub:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"conformance-stub-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._released.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def set_mode(self, mode: Mode) -> None:
        """Change behaviour; ``refuse`` stops listening, leaving it listens again."""
        if mode not in MODES:
            msg = f"Unknown stub mode {mode!r}; choose one of {', '.join(MODES)}."
            raise ValueError(msg)
        previous, self._mode = self._mode, mode
        if previous == "stall":
            self._released.set()
        if mode == "stall":
            self._released.clear()
        if mode == "refuse" and self._server is not None:
            self.stop()
        elif previous == "refuse" and self._server is None:
            self.start()

    def requests(self) -> list[RecordedRequest]:
        with self._condition:
            return list(self._requests)

    def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout_s: float,
    ) -> RecordedRequest | None:
        """The first recorded request matching ``predicate``, waiting up to ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while True:
                found = next((r for r in self._requests if predicate(r)), None)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._condition.wait(remaining)

    def _record(self, request: RecordedRequest) -> None:
        with self._condition:
            if len(self._requests) < MAX_RECORDED:
                self._requests.append(request)
            self._condition.notify_all()

    def _stall(self) -> None:
        self._released.wait(MAX_STALL_S)


def _handler_for(stub: DependencyStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "dependency-stub"
        sys_version = ""

        def do_GET(self) -> None:
            self._serve()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the stub's traffic is evidence, not console output."""

        def _serve(self) -> None:
            length = min(int(self.headers.get("content-length") or 0), MAX_BODY_BYTES)
            body = self.rfile.read(length) if length else b""
            stub._record(
                RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.monotonic(),
                )
            )
            mode = stub.mode
            if mode == "stall":
                stub._stall()
                self.close_connection = True
                return
            if mode == "reset":
                _reset(self.connection)
                self.close_connection = True
                return

            status = 503 if mode == "503" else 200
            payload = json.dumps(
                {"status": "OK" if status == 200 else "NOT OK"}
            ).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

    return Handler


def _reset(connection: socket.socket) -> None:
    """Close with SO_LINGER 0, so the peer sees a TCP reset rather than a clean close."""
    try:
        connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        connection.close()
    except OSError:
        pass
