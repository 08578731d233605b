"""OTLP/gRPC: the collector's three ``Export`` services, writing into the store.

The services are registered with the handlers that ``opentelemetry-proto`` generates, so
the method paths and message types are exactly the collector's. gRPC itself accepts
gzip-compressed messages. Failures inside a call are logged, counted, and returned as
``INTERNAL``; nothing raises into gRPC's worker threads.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final, cast

import grpc
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from conformance.telemetry.decode import Signal, ingest
from conformance.telemetry.store import TelemetryStore

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
WORKERS: Final = 4


class _Exporter:
    """The ``Export`` method of one collector service."""

    def __init__(self, store: TelemetryStore, signal: Signal) -> None:
        self._store = store
        self._signal = signal

    def Export(self, request: Message, context: grpc.ServicerContext) -> Message:
        try:
            return ingest(self._store, request, "grpc")
        except Exception:
            log.exception("the OTLP/gRPC receiver failed on a %s export", self._signal)
            self._store.record_request(self._signal, "grpc", ok=False)
            context.set_code(grpc.StatusCode.INTERNAL)
            context.set_details("the conformance suite's receiver failed; see its log")
            return type(request)()


# The generated modules carry no annotations; these are the registrars' real types.
_Registrar = Callable[[_Exporter, grpc.Server], None]
_REGISTRARS: Final[dict[Signal, _Registrar]] = {
    "traces": cast(
        _Registrar, trace_service_pb2_grpc.add_TraceServiceServicer_to_server
    ),
    "metrics": cast(
        _Registrar, metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server
    ),
    "logs": cast(_Registrar, logs_service_pb2_grpc.add_LogsServiceServicer_to_server),
}


def _bind_error(host: str, port: int) -> OSError | None:
    """Why binding ``host:port`` fails, found with a plain socket as gRPC binds it.

    gRPC's own bind error says nothing of the cause and writes a line to stderr, so
    the address is tried here first.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        return exc

    return None


class OtlpGrpcServer:
    """The OTLP/gRPC endpoint, served by gRPC's own threads."""

    def __init__(self, store: TelemetryStore, host: str, port: int) -> None:
        """Bind at once, so that an address in use fails here with ``OSError``."""
        error = _bind_error(host, port)
        if error is not None:
            raise error
        self._executor = ThreadPoolExecutor(
            max_workers=WORKERS, thread_name_prefix="conformance-otlp-grpc"
        )
        # gRPC sets SO_REUSEPORT by default, which would let two receivers share a
        # port silently; without it, a port in use fails to bind as it should.
        self._server = grpc.server(
            self._executor,
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        for signal, register in _REGISTRARS.items():
            register(_Exporter(store, signal), self._server)
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        try:
            self.port = self._server.add_insecure_port(target)
        except RuntimeError:
            self.port = 0
        if self.port == 0:  # older grpcio reports a failed bind this way
            self._executor.shutdown(wait=False)
            msg = f"gRPC could not bind {target}"
            raise _bind_error(host, port) or OSError(errno.EADDRINUSE, msg)

    def start(self) -> None:
        self._server.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Refuse new calls, let running ones finish for at most ``timeout_s``."""
        self._server.stop(grace=timeout_s / 2).wait(timeout_s)
        self._executor.shutdown(wait=False)
