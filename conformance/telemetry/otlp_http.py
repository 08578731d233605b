"""OTLP/HTTP: ``POST /v1/traces``, ``/v1/metrics`` and ``/v1/logs`` into the store.

It follows the OTLP/HTTP section of the OpenTelemetry protocol specification: protobuf
or JSON bodies, optionally gzip-compressed; the response in the request's content type;
a ``google.rpc.Status`` body on a 4xx; a partial success when items were dropped. The
standard library's threaded server is enough here: the receiver serves one target on
loopback, and it spares the suite an ASGI stack it would have to run in a thread.
Nothing here raises into the server: failures are logged and counted in the store.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, cast

from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc.code_pb2 import Code
from google.rpc.status_pb2 import Status

from conformance.telemetry.decode import (
    REQUEST_TYPES,
    OtlpDecodeError,
    Signal,
    ingest,
    parse_json,
    parse_protobuf,
)
from conformance.telemetry.store import TelemetryStore

log = logging.getLogger(__name__)

PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
MAX_BODY_BYTES: Final = 32 * 1024 * 1024
MAX_DECOMPRESSED_BYTES: Final = 64 * 1024 * 1024
SOCKET_TIMEOUT_S: Final = 30.0
_PATHS: Final[dict[str, Signal]] = {
    "/v1/traces": "traces",
    "/v1/metrics": "metrics",
    "/v1/logs": "logs",
}
_RPC_CODES: Final = {
    HTTPStatus.BAD_REQUEST: Code.INVALID_ARGUMENT,
    HTTPStatus.NOT_FOUND: Code.NOT_FOUND,
    HTTPStatus.METHOD_NOT_ALLOWED: Code.UNIMPLEMENTED,
    HTTPStatus.LENGTH_REQUIRED: Code.INVALID_ARGUMENT,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: Code.RESOURCE_EXHAUSTED,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: Code.INVALID_ARGUMENT,
    HTTPStatus.INTERNAL_SERVER_ERROR: Code.INTERNAL,
}


class _Refused(Exception):
    """A request the receiver answers with a 4xx and a Status body."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        store: TelemetryStore,
        max_body_bytes: int,
        max_decompressed_bytes: int,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.store = store
        self.max_body_bytes = max_body_bytes
        self.max_decompressed_bytes = max_decompressed_bytes
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up the host's FQDN, which can stall on DNS.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.warning(
            "OTLP/HTTP connection from %s failed", client_address, exc_info=True
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "conformance-otlp"
    timeout = SOCKET_TIMEOUT_S

    def do_POST(self) -> None:
        signal = _PATHS.get(self.path.split("?", 1)[0])
        # Refusals answer in the request's encoding, and in JSON when it has none.
        as_json = _content_type(self.headers.get("Content-Type")) != PROTOBUF
        try:
            if signal is None:
                raise _Refused(HTTPStatus.NOT_FOUND, _not_found(self.path))
            as_json = self._check_content_type()
            request = self._decode(self._read_body(), REQUEST_TYPES[signal](), as_json)
            response = ingest(self._server.store, request, "http")
        except _Refused as refusal:
            self._refuse(signal, refusal, as_json)
        except Exception:
            log.exception("the OTLP/HTTP receiver failed on POST %s", self.path)
            failure = _Refused(HTTPStatus.INTERNAL_SERVER_ERROR, "receiver error")
            self._refuse(signal, failure, as_json)
        else:
            self._reply(HTTPStatus.OK, response, as_json)

    def _other_method(self) -> None:
        signal = _PATHS.get(self.path.split("?", 1)[0])
        if signal is None:
            refusal = _Refused(HTTPStatus.NOT_FOUND, _not_found(self.path))
        else:
            text = (
                f"{self.command} is not allowed on {self.path}; OTLP exports use POST"
            )
            refusal = _Refused(HTTPStatus.METHOD_NOT_ALLOWED, text)
        self._refuse(signal, refusal, as_json=True)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _other_method

    @property
    def _server(self) -> _Server:
        return cast(_Server, self.server)

    def _check_content_type(self) -> bool:
        content_type = _content_type(self.headers.get("Content-Type"))
        if content_type not in (PROTOBUF, JSON):
            text = (
                f"Content-Type {content_type or '(none)'!r} is not supported; "
                f"send {PROTOBUF} or {JSON}"
            )
            raise _Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, text)
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            text = f"Content-Encoding {encoding!r} is not supported; send gzip or none"
            raise _Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, text)

        return content_type == JSON

    def _read_body(self) -> bytes:
        limit = self._server.max_body_bytes
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = self._read_chunked(limit)
        else:
            body = self._read_sized(limit)
        if (self.headers.get("Content-Encoding") or "").strip().lower() == "gzip":
            body = _gunzip(body, self._server.max_decompressed_bytes)

        return body

    def _read_sized(self, limit: int) -> bytes:
        header = self.headers.get("Content-Length")
        if header is None:
            raise _Refused(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header")
        try:
            length = int(header)
        except ValueError:
            length = -1
        if length < 0:
            text = f"Content-Length {header!r} is not a byte count"
            raise _Refused(HTTPStatus.BAD_REQUEST, text)
        if length > limit:
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large(limit))
        body = self.rfile.read(length)
        if len(body) != length:
            text = f"the body ended after {len(body)} of {length} bytes"
            raise _Refused(HTTPStatus.BAD_REQUEST, text)

        return body

    def _read_chunked(self, limit: int) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise _Refused(HTTPStatus.BAD_REQUEST, "malformed chunk") from None
            if size == 0:
                break
            if len(body) + size > limit:
                raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large(limit))
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _Refused(HTTPStatus.BAD_REQUEST, "truncated chunk")
            body += chunk
        for _ in range(100):  # trailer fields, ignored, up to the empty line
            if self.rfile.readline(8192) in (b"\r\n", b"\n", b""):
                break

        return bytes(body)

    def _decode(self, body: bytes, message: Message, as_json: bool) -> Message:
        try:
            return (
                parse_json(body, message) if as_json else parse_protobuf(body, message)
            )
        except OtlpDecodeError as exc:
            raise _Refused(HTTPStatus.BAD_REQUEST, str(exc)) from exc

    def _refuse(self, signal: Signal | None, refusal: _Refused, as_json: bool) -> None:
        self._server.store.record_request(signal or "unknown", "http", ok=False)
        log.info("OTLP/HTTP %s %s refused: %s", self.command, self.path, refusal)
        # The body may be unread; closing is the only safe end of this connection.
        self.close_connection = True
        status = Status(
            code=_RPC_CODES.get(refusal.status, Code.UNKNOWN),
            message=refusal.message,
        )
        self._reply(refusal.status, status, as_json)

    def _reply(self, status: HTTPStatus, message: Message, as_json: bool) -> None:
        if as_json:
            body = json_format.MessageToJson(message, indent=None).encode()
        else:
            body = message.SerializeToString()
        self.send_response(status)
        self.send_header("Content-Type", JSON if as_json else PROTOBUF)
        self.send_header("Content-Length", str(len(body)))
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", "POST")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # No access log on stderr: the suite's own output must stay readable.
        log.debug("OTLP/HTTP %s", format % args)


def _content_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def _not_found(path: str) -> str:
    return f"no OTLP endpoint at {path!r}; use {', '.join(_PATHS)}"


def _too_large(limit: int) -> str:
    return (
        f"the body exceeds the receiver's limit of {limit} bytes; "
        "export smaller batches"
    )


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes, so a small gzip bomb cannot fill memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise _Refused(
            HTTPStatus.BAD_REQUEST, f"the gzip body is invalid: {exc}"
        ) from exc
    if len(data) > limit:
        text = (
            f"the body decompresses to more than {limit} bytes; export smaller batches"
        )
        raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, text)
    if not inflater.eof:
        raise _Refused(HTTPStatus.BAD_REQUEST, "the gzip body is truncated")

    return data


class OtlpHttpServer:
    """The OTLP/HTTP endpoint, served from a named daemon thread."""

    def __init__(
        self,
        store: TelemetryStore,
        host: str,
        port: int,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES,
    ) -> None:
        """Bind at once, so that an address in use fails here with ``OSError``."""
        self._server = _Server(
            (host, port), store, max_body_bytes, max_decompressed_bytes
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"conformance-otlp-http-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close the socket, and wait at most ``timeout_s``."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout_s)
            self._thread = None
        self._server.server_close()
