"""A total time and size bound on every exchange with the target.

httpx's timeouts bound each socket operation, not the exchange: a target that drips
its status line and headers a byte a second never trips a read timeout, and one that
sends an endless body fills memory as fast as loopback carries it. This transport
gives each request a deadline (its largest configured timeout, counted from the
moment it is sent) and a byte budget, enforced on every read of the socket, headers
and body alike. Both live in a thread-local, since the run's client is shared by
checks that probe from several threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any, Final

import httpcore
import httpx

MAX_RESPONSE_BYTES: Final = 32 << 20


class _Budget(threading.local):
    deadline: float | None = None
    remaining_bytes: int = MAX_RESPONSE_BYTES


_BUDGET = _Budget()


class _BoundedStream(httpcore.NetworkStream):
    """A socket stream whose reads respect the current request's deadline and budget."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        timeout = _shortened(timeout)
        data = self._stream.read(max_bytes, timeout)
        _BUDGET.remaining_bytes -= len(data)
        if _BUDGET.remaining_bytes < 0:
            msg = f"the response exceeded {MAX_RESPONSE_BYTES} bytes"
            raise httpcore.ReadError(msg)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _shortened(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        upgraded = self._stream.start_tls(
            ssl_context, server_hostname, _shortened(timeout)
        )
        return _BoundedStream(upgraded)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    """Wraps every connection the pool opens in a :class:`_BoundedStream`."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _shortened(timeout), local_address, socket_options
        )
        return _BoundedStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, timeout, socket_options)
        return _BoundedStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class BoundedTransport(httpx.HTTPTransport):
    """An HTTP transport that bounds each exchange's total time and size."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        if isinstance(pool, httpcore.ConnectionPool):
            pool._network_backend = _BoundedBackend(pool._network_backend)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        limits = [t for t in timeouts.values() if t is not None]
        _BUDGET.deadline = time.monotonic() + max(limits) if limits else None
        _BUDGET.remaining_bytes = MAX_RESPONSE_BYTES
        return super().handle_request(request)


def bounded_client(**kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` whose exchanges end by their timeout, whatever the server does."""
    verify = kwargs.pop("verify", True)
    return httpx.Client(transport=BoundedTransport(verify=verify), **kwargs)


def _shortened(timeout: float | None) -> float | None:
    """The socket timeout, cut to what is left before the request's deadline."""
    deadline = _BUDGET.deadline
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        msg = "the exchange took longer than its time limit"
        raise httpcore.ReadTimeout(msg)
    return left if timeout is None else min(timeout, left)
