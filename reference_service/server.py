"""Running the app under uvicorn with the guide's server timeouts.

Uvicorn has a keep-alive (idle) timeout and a shutdown grace period, but none
for slow clients. `TimedH11Protocol` adds Go's three: the request line and
headers must arrive within READ_HEADER_TIMEOUT, the whole request within
READ_TIMEOUT, and the response must be written within WRITE_TIMEOUT after the
headers were read. A connection that misses its deadline is closed, as Go's
net/http does. This relies on uvicorn's h11 protocol class and its `conn` and
`transport` attributes; re-check it when upgrading uvicorn.
"""

from __future__ import annotations

import asyncio
import math
import signal
import threading
from types import FrameType
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from reference_service.health import Health
from reference_service.settings import Settings
from reference_service.transport_security import tls_server_options

# Go's default MaxHeaderBytes; h11's own default is 16 KiB.
MAX_HEADER_BYTES = 1 << 20
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\nconnection: close\r\n\r\n"
    b"Request header fields too large\n"
)


class TimedH11Protocol(H11Protocol):
    """Uvicorn's h11 protocol with header, read and write deadlines."""

    read_header_timeout = 10.0
    read_timeout = 30.0
    write_timeout = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading: asyncio.TimerHandle | None = None
        self._writing: asyncio.TimerHandle | None = None
        self._request_started = 0.0
        self._header_bytes = 0
        self._headers_read = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_request()

    def data_received(self, data: bytes) -> None:
        # The first bytes after an idle keep-alive period start a new request.
        if self._reading is None and self.conn.their_state is h11.IDLE:
            self._start_request()
        if self._over_header_limit(data):
            return
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        self._cancel_writing()
        super().on_response_complete()
        # Uvicorn's keep-alive timer now guards the idle connection.
        self._cancel_reading()
        self._headers_read = False
        self._follow_state()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_reading()
        self._cancel_writing()
        super().connection_lost(exc)

    def _over_header_limit(self, data: bytes) -> bool:
        """Refuse a header block over MAX_HEADER_BYTES with 431, as Go does.

        h11's own limit only applies while a block is incomplete: one that
        arrives whole in a single read is parsed whatever its size.
        """
        if self._headers_read or self.conn.their_state is not h11.IDLE:
            return False
        end = data.find(b"\r\n\r\n")
        self._header_bytes += len(data) if end < 0 else end + 4
        if self._header_bytes <= MAX_HEADER_BYTES:
            return False

        if not self.transport.is_closing():
            self.transport.write(_TOO_LARGE)
            self.transport.close()
        return True

    def _start_request(self) -> None:
        self._request_started = self.loop.time()
        self._headers_read = False
        self._header_bytes = 0
        self._reading = self.loop.call_later(self.read_header_timeout, self._expire)

    def _follow_state(self) -> None:
        """Move from the header deadline to the body and write deadlines."""
        state = self.conn.their_state
        if state is h11.IDLE:
            return

        if not self._headers_read:
            self._headers_read = True
            self._cancel_reading()
            self._writing = self.loop.call_later(self.write_timeout, self._expire)
            if state is h11.SEND_BODY:
                deadline = self._request_started + self.read_timeout
                self._reading = self.loop.call_at(deadline, self._expire)
        elif state is not h11.SEND_BODY:
            self._cancel_reading()

    def _expire(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def _cancel_reading(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
            self._reading = None

    def _cancel_writing(self) -> None:
        if self._writing is not None:
            self._writing.cancel()
            self._writing = None


def timed_protocol(settings: Settings) -> type[TimedH11Protocol]:
    """A protocol class carrying this configuration's deadlines."""

    class ConfiguredH11Protocol(TimedH11Protocol):
        read_header_timeout = settings.read_header_timeout
        read_timeout = settings.read_timeout
        write_timeout = settings.write_timeout

    return ConfiguredH11Protocol


class GracefulServer(uvicorn.Server):
    """Marks the service unready the moment a stop signal arrives.

    It then keeps serving for `drain_s` (readiness answers 503 meanwhile) so load
    balancers polling readiness stop sending work before the listener closes;
    a second signal skips the rest of the drain.
    """

    def __init__(
        self, config: uvicorn.Config, health: Health, drain_s: float = 0.0
    ) -> None:
        super().__init__(config)
        self._health = health
        self._drain_s = drain_s
        self._draining: threading.Timer | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._health.begin_shutdown()
        if self._draining is None and self._drain_s > 0:
            self._draining = threading.Timer(
                self._drain_s, super().handle_exit, (sig, frame)
            )
            self._draining.daemon = True
            self._draining.start()
            return

        if self._draining is not None:
            self._draining.cancel()
        super().handle_exit(sig, frame)


def _whole_seconds(seconds: float) -> int:
    # Uvicorn takes whole seconds; round up so no timeout becomes shorter.
    return math.ceil(seconds)


def _ignore_signal(sig: int, frame: FrameType | None) -> None:
    """Absorb the stop signal uvicorn re-raises after a clean shutdown."""


def serve(app: FastAPI, settings: Settings) -> int:
    """Serve until SIGTERM or SIGINT; return the process exit code."""
    drain = min(settings.shutdown_drain, settings.shutdown_grace / 2)
    config = uvicorn.Config(
        app,
        host=settings.http_addr.host,
        port=settings.http_addr.port,
        http=timed_protocol(settings),
        loop="asyncio",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_keep_alive=_whole_seconds(settings.idle_timeout),
        # The drain comes out of the grace period, so the exit stays within it.
        timeout_graceful_shutdown=max(1, int(settings.shutdown_grace - drain)),
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        **tls_server_options(settings),
    )
    server = GracefulServer(config, app.state.health, drain)

    # After a graceful stop, uvicorn re-raises the signal to the handler that
    # was installed before it started. With the default handlers that kills
    # the process (SIGTERM) or prints a KeyboardInterrupt traceback (SIGINT),
    # turning a clean shutdown into a failure; like Go's Server.Shutdown, a
    # completed shutdown here exits 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore_signal)
    server.run()

    # Uvicorn's own exit code when start-up (for example the lifespan) fails.
    return 0 if server.started else 3
