"""Loopback servers the tracing tests run: an inventory stub and an OTLP collector.

Both bind 127.0.0.1 on a free port, serve from a named thread, start and stop
as context managers, and wait against a monotonic deadline that reports what
did arrive when it expires.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Literal, Self

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

LOOPBACK = "127.0.0.1"
MAX_STALL_S = 10.0

StubMode = Literal["ok", "503", "stall"]


def free_port() -> int:
    """A loopback port nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


class _LoopbackServer:
    """A threading HTTP server on a free loopback port, run as a context manager."""

    name = "loopback-server"

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.name,
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _release(self) -> None:
        """Let handlers that are waiting finish before the server stops."""

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError


@dataclass(frozen=True)
class StubRequest:
    """One request the inventory stub received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class InventoryStub(_LoopbackServer):
    """Stands in for the inventory: 200 {"status": "OK"}, or 503, or a stall."""

    name = "inventory-stub"

    def __init__(self) -> None:
        self.mode: StubMode = "ok"
        self.requests: list[StubRequest] = []
        self._released = threading.Event()
        super().__init__()

    def _release(self) -> None:
        self._released.set()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                stub.requests.append(
                    StubRequest(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=self.rfile.read(length),
                    )
                )
                if stub.mode == "stall":
                    stub._released.wait(MAX_STALL_S)
                status = 503 if stub.mode == "503" else 200
                body = json.dumps(
                    {"status": "OK" if status == 200 else "NOT OK"}
                ).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # The service gave up waiting and closed the connection.

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        return Handler


@dataclass(frozen=True)
class ReceivedSpan:
    """A span as the collector decoded it, with its resource's attributes."""

    resource: dict[str, object]
    span: Span

    @property
    def trace_id(self) -> str:
        return self.span.trace_id.hex()

    @property
    def span_id(self) -> str:
        return self.span.span_id.hex()

    @property
    def parent_span_id(self) -> str:
        return self.span.parent_span_id.hex()

    @property
    def attributes(self) -> dict[str, object]:
        return _attributes(self.span.attributes)


class OtlpCollector(_LoopbackServer):
    """Receives OTLP/HTTP protobuf on /v1/traces; accepts and drops other signals."""

    name = "otlp-collector"

    def __init__(self) -> None:
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        super().__init__()

    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    def wait_for(
        self,
        predicate: Callable[[list[ReceivedSpan]], bool],
        timeout: float = 10.0,
    ) -> list[ReceivedSpan]:
        """Wait until `predicate(spans)` holds; raise naming what arrived if not."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if predicate(spans):
                return spans
            if time.monotonic() >= deadline:
                arrived = [(s.span.name, s.trace_id) for s in spans]
                msg = f"the spans awaited did not arrive within {timeout} s; got {arrived}"
                raise AssertionError(msg)
            time.sleep(0.05)

    def _add(self, request: ExportTraceServiceRequest) -> None:
        received = [
            ReceivedSpan(_attributes(resource_spans.resource.attributes), span)
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self._lock:
            self._spans.extend(received)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    collector._add(ExportTraceServiceRequest.FromString(body))
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        return Handler


def _attributes(pairs: object) -> dict[str, object]:
    result: dict[str, object] = {}
    for pair in pairs:  # type: ignore[attr-defined]
        assert isinstance(pair, KeyValue)
        result[pair.key] = _value(pair.value)
    return result


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None
