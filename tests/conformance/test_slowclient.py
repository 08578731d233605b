"""Slow-client probes measure closes and answers, and stop at their bound."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from conformance.slowclient import Address, silent, trickle_headers


@pytest.fixture
def listener() -> Iterator[tuple[Address, list[socket.socket]]]:
    """A server that accepts and keeps every connection, answering nothing."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except (TimeoutError, OSError):
                continue

    threading.Thread(target=accept, daemon=True).start()
    yield Address("127.0.0.1", server.getsockname()[1]), held
    stop.set()
    server.close()
    for sock in held:
        sock.close()


def test_a_server_that_never_closes_leaves_the_probe_open_at_its_bound(
    listener: tuple[Address, list[socket.socket]],
) -> None:
    """Against a server with no timeout the probe ends at its bound, saying open."""
    address, _ = listener
    started = time.monotonic()

    result = trickle_headers(address, "/", interval_s=0.1, bound_s=0.6)

    assert result.outcome == "open"
    assert time.monotonic() - started < 2.0


def test_a_close_is_timed(listener: tuple[Address, list[socket.socket]]) -> None:
    """A server that closes after 0.3 s is seen closing at about that time."""
    address, held = listener
    closer = threading.Timer(0.3, lambda: [s.close() for s in held])
    closer.start()

    result = silent(address, bound_s=3.0)

    assert result.outcome in ("closed", "reset")
    assert 0.2 < result.elapsed_s < 1.5


def test_a_refused_connection_is_reported_not_raised() -> None:
    """Nothing listening gives the outcome refused, not an exception."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = silent(Address("127.0.0.1", port), bound_s=1.0)

    assert result.outcome == "refused"
