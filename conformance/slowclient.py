"""Slow-client probes over raw sockets: the clients server timeouts exist for.

An HTTP library always finishes what it starts, so it cannot send half a request and
stop; these probes must. Each opens a loopback socket, sends a deliberately incomplete
or idle request, and measures when the server closes the connection or answers. Every
loop is bounded in count and time, and every socket closes when its probe ends.
Responses are read with h11, the HTTP/1.1 state machine httpx itself is built on.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass, field
from typing import Final, Literal
from urllib.parse import urlsplit

import h11

Outcome = Literal["closed", "reset", "answered", "open", "refused"]
READ_BYTES: Final = 65_536
MAX_TRICKLE_LINES: Final = 1_000
HEADER_CHUNK: Final = 8_192


@dataclass(frozen=True)
class Address:
    """Where the target listens, read from its base URL."""

    host: str
    port: int

    @classmethod
    def of(cls, base_url: str) -> Address:
        parts = urlsplit(base_url)
        default = 443 if parts.scheme == "https" else 80
        return cls(parts.hostname or "127.0.0.1", parts.port or default)


@dataclass
class SlowResult:
    """What a slow client saw: how the connection ended and when, from the start."""

    scenario: str
    outcome: Outcome
    elapsed_s: float
    status: int | None = None
    answered_after_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        answer = f", answered {self.status}" if self.status is not None else ""
        if self.answered_after_s is not None:
            answer += f" after {self.answered_after_s:.2f} s"
        return f"{self.scenario}: {self.outcome} after {self.elapsed_s:.2f} s{answer}"


class _Connection:
    """One raw client connection with a response parser and its start time."""

    def __init__(self, address: Address, connect_timeout_s: float = 5.0) -> None:
        self.sock = socket.create_connection(
            (address.host, address.port), timeout=connect_timeout_s
        )
        self.started = time.monotonic()
        self.parser = h11.Connection(h11.CLIENT)
        self.status: int | None = None
        self.answered_at: float | None = None
        self.response_done_at: float | None = None

    def close(self) -> None:
        self.sock.close()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def send(self, data: bytes) -> bool:
        """Send bytes; False when the server has already closed or reset."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def wait(self, seconds: float) -> Outcome | None:
        """Read whatever arrives for ``seconds``; the end of the connection, if it ends."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.sock], [], [], remaining)
            if not readable:
                return None
            try:
                data = self.sock.recv(READ_BYTES)
            except ConnectionResetError:
                return "reset"
            except OSError:
                return "closed"
            if not data:
                return "closed"
            self._parse(data)
        return None

    def _parse(self, data: bytes) -> None:
        try:
            self.parser.receive_data(data)
            while True:
                event = self.parser.next_event()
                if event is h11.NEED_DATA or event is h11.PAUSED:
                    return
                if isinstance(event, h11.Response) and self.status is None:
                    self.status = event.status_code
                    self.answered_at = self.elapsed()
                if isinstance(event, h11.EndOfMessage):
                    self.response_done_at = time.monotonic()
                    return
        except h11.RemoteProtocolError:
            if self.status is None:
                self.status = 0
                self.answered_at = self.elapsed()


def _result(scenario: str, connection: _Connection, outcome: Outcome) -> SlowResult:
    return SlowResult(
        scenario=scenario,
        outcome=outcome,
        elapsed_s=connection.elapsed(),
        status=connection.status,
        answered_after_s=connection.answered_at,
    )


def _open(scenario: str, address: Address) -> _Connection | SlowResult:
    try:
        return _Connection(address)
    except OSError as exc:
        return SlowResult(scenario, "refused", 0.0, notes=[f"connect failed: {exc}"])


def _request_head(address: Address, method: str, path: str) -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: {address.host}:{address.port}\r\n".encode()
    )


def silent(address: Address, bound_s: float) -> SlowResult:
    """Connect and send nothing; wait for the server to give up on the request."""
    connection = _open("silent connection", address)
    if isinstance(connection, SlowResult):
        return connection
    try:
        outcome = connection.wait(bound_s) or "open"
        return _result("silent connection", connection, outcome)
    finally:
        connection.close()


def trickle_headers(
    address: Address, path: str, interval_s: float, bound_s: float
) -> SlowResult:
    """Send the request line, then one header line every ``interval_s``, never ending."""
    scenario = f"headers one line every {interval_s:g} s"
    connection = _open(scenario, address)
    if isinstance(connection, SlowResult):
        return connection
    try:
        if not connection.send(_request_head(address, "GET", path)):
            return _result(scenario, connection, "closed")
        for line in range(MAX_TRICKLE_LINES):
            step = min(interval_s, bound_s - connection.elapsed())
            if step <= 0:
                return _result(scenario, connection, "open")
            outcome = connection.wait(step)
            if outcome is not None:
                return _result(scenario, connection, outcome)
            if not connection.send(f"X-Slow-{line}: {'x' * 16}\r\n".encode()):
                return _result(scenario, connection, "closed")
        return _result(scenario, connection, "open")
    finally:
        connection.close()


def stalled_body(
    address: Address, method: str, path: str, bound_s: float
) -> SlowResult:
    """Announce a body, send a small part of it, then nothing more.

    An early answer (the server refused the request without reading the body) is
    noted; what matters is that the connection does not stay open for the rest.
    """
    scenario = "body stalled short of its Content-Length"
    connection = _open(scenario, address)
    if isinstance(connection, SlowResult):
        return connection
    head = _request_head(address, method, path) + (
        b'Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{"stall": '
    )
    try:
        if not connection.send(head):
            return _result(scenario, connection, "closed")
        outcome = connection.wait(bound_s) or "open"
        return _result(scenario, connection, outcome)
    finally:
        connection.close()


def idle_keepalive(address: Address, path: str, bound_s: float) -> SlowResult:
    """Complete one keep-alive request, then stay idle; time is counted from its end."""
    scenario = "idle keep-alive connection"
    connection = _open(scenario, address)
    if isinstance(connection, SlowResult):
        return connection
    try:
        request = (
            _request_head(address, "GET", path) + b"Connection: keep-alive\r\n\r\n"
        )
        if not connection.send(request):
            return _result(scenario, connection, "closed")
        while connection.response_done_at is None and connection.elapsed() < bound_s:
            outcome = connection.wait(min(0.5, bound_s))
            if outcome is not None:
                result = _result(scenario, connection, outcome)
                result.notes.append("the connection ended before a complete answer")
                return result
        if connection.response_done_at is None:
            return _result(scenario, connection, "open")

        connection.started = connection.response_done_at
        outcome = connection.wait(bound_s) or "open"
        return _result(scenario, connection, outcome)
    finally:
        connection.close()


def large_headers(
    address: Address, path: str, total_bytes: int, bound_s: float
) -> SlowResult:
    """Send a request whose header block is ``total_bytes`` long and read the answer."""
    scenario = f"headers of {total_bytes} bytes"
    connection = _open(scenario, address)
    if isinstance(connection, SlowResult):
        return connection
    try:
        sent = connection.send(_request_head(address, "GET", path))
        count = 0
        while sent and count * HEADER_CHUNK < total_bytes:
            value = "y" * (HEADER_CHUNK - 16)
            sent = connection.send(f"X-Big-{count}: {value}\r\n".encode())
            count += 1
        if sent:
            sent = connection.send(b"Connection: close\r\n\r\n")
        outcome = _await_answer(connection, bound_s)
        result = _result(scenario, connection, outcome)
        if not sent:
            result.notes.append("the server stopped reading before the headers ended")
        return result
    finally:
        connection.close()


def _await_answer(connection: _Connection, bound_s: float) -> Outcome:
    while connection.status is None:
        remaining = bound_s - connection.elapsed()
        if remaining <= 0:
            return "open"
        outcome = connection.wait(min(0.2, remaining))
        if outcome is not None:
            return "answered" if connection.status is not None else outcome
    return "answered"


class SlowCrowd:
    """Many connections that trickle headers, held open together (RES-05).

    ``__enter__`` opens them; ``__exit__`` closes them all, whatever happened.
    """

    def __init__(self, address: Address, count: int, path: str) -> None:
        self.address = address
        self.count = count
        self.path = path
        self.held: list[_Connection] = []
        self.failures: list[str] = []

    def __enter__(self) -> SlowCrowd:
        for _ in range(self.count):
            try:
                connection = _Connection(self.address, connect_timeout_s=2.0)
            except OSError as exc:
                self.failures.append(str(exc))
                continue
            self.held.append(connection)
            connection.send(_request_head(self.address, "GET", self.path))
        return self

    def nudge(self) -> int:
        """Send one more header line on each; returns how many are still open."""
        alive = 0
        for index, connection in enumerate(self.held):
            if connection.send(f"X-Crowd-{index}: z\r\n".encode()):
                alive += 1
        return alive

    def __exit__(self, *exc_info: object) -> None:
        for connection in self.held:
            connection.close()
