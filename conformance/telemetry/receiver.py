"""The OTLP receiver the target exports to: HTTP and gRPC in front of one store.

It binds loopback by default, accepts port 0 for any free port, and turns an address
that cannot be bound into a usage error that names the option to change.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from types import TracebackType
from typing import Final, TypeVar

from conformance.errors import UsageError
from conformance.telemetry.otlp_grpc import OtlpGrpcServer
from conformance.telemetry.otlp_http import OtlpHttpServer
from conformance.telemetry.store import TelemetryStore

S = TypeVar("S", OtlpHttpServer, OtlpGrpcServer)

DEFAULT_HTTP_ADDRESS: Final = "127.0.0.1:4318"
DEFAULT_GRPC_ADDRESS: Final = "127.0.0.1:4317"
_WILDCARDS: Final = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def parse_address(text: str, option: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port`` for IPv6); the error names ``option``."""
    host, sep, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        msg = (
            f"{option} {text!r} is not a host:port address; "
            f"pass for example {option} 127.0.0.1:0"
        )
        raise UsageError(msg)

    return host or "127.0.0.1", int(port_text)


def _bind_message(option: str, host: str, port: int, exc: OSError) -> str:
    address = f"{_url_host(host)}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{option} {address} is in use; pass {option} {_url_host(host)}:0 "
            "for any free port or stop the other collector"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{option} {address} is not an address of this machine; "
            f"pass {option} 127.0.0.1:0 to listen on loopback"
        )

    return f"{option} {address} cannot be bound ({exc}); pass {option} 127.0.0.1:0"


def _url_host(host: str) -> str:
    host = _WILDCARDS.get(host, host)
    return f"[{host}]" if ":" in host else host


class OtlpReceiver:
    """OTLP/HTTP and OTLP/gRPC endpoints writing into ``store``.

    Pass ``grpc_address=None`` to serve HTTP only. Use it as a context manager, or call
    ``start()`` and ``stop()``; stopping waits a bounded time for running requests.
    """

    def __init__(
        self,
        store: TelemetryStore,
        http_address: str = DEFAULT_HTTP_ADDRESS,
        grpc_address: str | None = DEFAULT_GRPC_ADDRESS,
        http_option: str = "--otlp-http",
        grpc_option: str = "--otlp-grpc",
    ) -> None:
        self.store = store
        self._http_address = parse_address(http_address, http_option)
        self._grpc_address = (
            None if grpc_address is None else parse_address(grpc_address, grpc_option)
        )
        self._options = {"http": http_option, "grpc": grpc_option}
        self._http: OtlpHttpServer | None = None
        self._grpc: OtlpGrpcServer | None = None

    def start(self) -> OtlpReceiver:
        """Bind both endpoints and serve; on a bind failure nothing is left running."""
        if self._http is not None:
            return self
        try:
            host, port = self._http_address
            self._http = self._bound("http", host, port, OtlpHttpServer)
            if self._grpc_address is not None:
                host, port = self._grpc_address
                self._grpc = self._bound("grpc", host, port, OtlpGrpcServer)
        except BaseException:
            self.stop()
            raise
        self._http.start()
        if self._grpc is not None:
            self._grpc.start()

        return self

    def _bound(
        self,
        transport: str,
        host: str,
        port: int,
        server: Callable[[TelemetryStore, str, int], S],
    ) -> S:
        try:
            return server(self.store, host, port)
        except OSError as exc:
            msg = _bind_message(self._options[transport], host, port, exc)
            raise UsageError(msg) from exc

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop both endpoints, waiting at most about ``timeout_s`` for each."""
        http, grpc_server = self._http, self._grpc
        self._http = self._grpc = None
        if http is not None:
            http.stop(timeout_s)
        if grpc_server is not None:
            grpc_server.stop(timeout_s)

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def http_endpoint(self) -> str:
        """The base URL exporters append ``/v1/traces`` and the others to."""
        if self._http is None:
            msg = "the OTLP receiver is not running; call start() first"
            raise RuntimeError(msg)

        return f"http://{_url_host(self._http_address[0])}:{self._http.port}"

    @property
    def grpc_endpoint(self) -> str:
        """``host:port`` for gRPC exporters (which want no scheme for insecure use)."""
        if self._grpc is None:
            msg = "the OTLP/gRPC receiver is not running; start it with a grpc_address"
            raise RuntimeError(msg)
        assert self._grpc_address is not None

        return f"{_url_host(self._grpc_address[0])}:{self._grpc.port}"

    def exporter_env(self) -> dict[str, str]:
        """The standard exporter variables that point a launched target at us.

        ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` are left out on purpose:
        setting them would hide a target that does not name its own service.
        """
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.http_endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_BLRP_SCHEDULE_DELAY": "200",
            # Each OTLP metric check waits for two exports (one to settle, one to show
            # the change): a short interval keeps that to a fraction of a second.
            "OTEL_METRIC_EXPORT_INTERVAL": "250",
        }
