"""The TCP fault proxy forwards, refuses, resets and stalls on command, then recovers."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from conformance.stubs.fault_proxy import FaultProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with FaultProxy("echo", server.server_address[:2]) as running:  # type: ignore[arg-type]
        yield running
    server.shutdown()
    server.server_close()


def _echo(proxy: FaultProxy, timeout_s: float = 2.0) -> bytes:
    with socket.create_connection(proxy.address, timeout=timeout_s) as sock:
        sock.sendall(b"ping")
        return sock.recv(16)


def test_forwards_both_ways(proxy: FaultProxy) -> None:
    """In ok mode bytes reach the upstream and its answer comes back."""
    assert _echo(proxy) == b"ping"


def test_refuse_stops_listening_and_ok_listens_again(proxy: FaultProxy) -> None:
    """Refuse makes connections fail; back in ok mode the same port works."""
    proxy.set_mode("refuse")
    with pytest.raises(ConnectionRefusedError):
        _echo(proxy)

    proxy.set_mode("ok")
    assert _echo(proxy) == b"ping"


def test_reset_breaks_open_and_new_connections(proxy: FaultProxy) -> None:
    """Reset ends an open connection with RST and resets each new one."""
    with socket.create_connection(proxy.address, timeout=2.0) as open_one:
        open_one.sendall(b"a")
        assert open_one.recv(4) == b"a"
        proxy.set_mode("reset")
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            open_one.sendall(b"b")
            if not open_one.recv(4):
                raise ConnectionResetError
    with pytest.raises((ConnectionResetError, BrokenPipeError)):
        if not _echo(proxy):
            raise ConnectionResetError


def test_stall_accepts_and_answers_nothing(proxy: FaultProxy) -> None:
    """Stall accepts the connection and forwards nothing until ok again."""
    proxy.set_mode("stall")
    with pytest.raises(TimeoutError):
        _echo(proxy, timeout_s=0.5)

    proxy.set_mode("ok")
    assert _echo(proxy) == b"ping"
