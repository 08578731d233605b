"""A TCP fault proxy: stands between the target and a TCP dependency such as a database.

The suite cannot make a real database fail on command, but it can sit in the path: the
target connects to this proxy, which forwards bytes to the real dependency until told to
``refuse`` (stop listening and reset every open connection), ``reset`` (reset open and
new connections), or ``stall`` (accept and hold, forwarding nothing). Written on plain
sockets because the faults are TCP behaviour (listening, RST, silence) that no protocol
library exposes; one thread per connection pair, every wait bounded by a short poll.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from typing import Final, Literal

from conformance.launcher import LOOPBACK

ProxyMode = Literal["ok", "refuse", "reset", "stall"]
PROXY_MODES: Final = ("ok", "refuse", "reset", "stall")
POLL_S: Final = 0.1
CHUNK: Final = 65_536
CONNECT_TIMEOUT_S: Final = 3.0
REBIND_S: Final = 2.0


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0 so the peer sees a TCP reset."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Pair:
    """One client connection and its upstream connection, forwarded both ways."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()

    def reset(self) -> None:
        self.closed.set()
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)


class FaultProxy:
    """Forwards a loopback port to ``upstream`` and misbehaves on command."""

    def __init__(self, name: str, upstream: tuple[str, int], port: int = 0) -> None:
        self.name = name
        self.upstream = upstream
        self._port = port
        self._mode: ProxyMode = "ok"
        self._listener: socket.socket | None = None
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        return LOOPBACK, self._port

    @property
    def mode(self) -> ProxyMode:
        return self._mode

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + REBIND_S
        while True:
            try:
                listener.bind((LOOPBACK, self._port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    listener.close()
                    raise
                time.sleep(POLL_S)
        listener.listen(64)
        listener.settimeout(POLL_S)
        self._port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(
            target=self._accept,
            args=(listener,),
            name=f"conformance-proxy-{self.name}",
            daemon=True,
        ).start()

    def stop(self) -> None:
        self._stopped.set()
        self._close_listener()
        self._reset_all()

    def set_mode(self, mode: ProxyMode) -> None:
        """Change behaviour; ``refuse`` stops listening, leaving it listens again."""
        if mode not in PROXY_MODES:
            msg = (
                f"Unknown proxy mode {mode!r}; choose one of {', '.join(PROXY_MODES)}."
            )
            raise ValueError(msg)
        previous, self._mode = self._mode, mode
        if mode in ("refuse", "reset"):
            self._reset_all()
        if mode == "refuse":
            self._close_listener()
        elif previous == "refuse" and not self._stopped.is_set():
            self.start()
        if previous == "stall" and mode == "ok":
            # Connections held without an upstream cannot be resumed; drop them.
            with self._lock:
                held = [p for p in self._pairs if p.upstream is None]
            for pair in held:
                pair.reset()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() leaves LISTEN at once, even while accept() polls the socket.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()

    def _reset_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.reset()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopped.is_set() and listener is self._listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._admit(client)

    def _admit(self, client: socket.socket) -> None:
        if self._mode == "reset":
            _reset(client)
            return
        upstream = None
        if self._mode == "ok":
            try:
                upstream = socket.create_connection(
                    self.upstream, timeout=CONNECT_TIMEOUT_S
                )
            except OSError:
                _reset(client)
                return
        pair = _Pair(client, upstream)
        with self._lock:
            self._pairs.append(pair)
        threading.Thread(target=self._forward, args=(pair,), daemon=True).start()

    def _forward(self, pair: _Pair) -> None:
        try:
            while not pair.closed.is_set() and not self._stopped.is_set():
                if pair.upstream is None or self._mode == "stall":
                    pair.closed.wait(POLL_S)
                    continue
                sockets = [pair.client, pair.upstream]
                readable, _, _ = select.select(sockets, [], [], POLL_S)
                for source in readable:
                    data = source.recv(CHUNK)
                    if not data:
                        return
                    target = pair.upstream if source is pair.client else pair.client
                    target.sendall(data)
        except (OSError, ValueError):
            return
        finally:
            if not pair.closed.is_set():
                pair.closed.set()
                pair.client.close()
                if pair.upstream is not None:
                    pair.upstream.close()
            with self._lock:
                if pair in self._pairs:
                    self._pairs.remove(pair)
