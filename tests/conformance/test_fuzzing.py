"""Generated requests against an operation that streams for as long as it is asked."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import pytest

from conformance.fuzzing import fuzz_operation

MAX_FOLLOW_S: Final = 120
# The stub never streams longer than this, whatever it is asked, so no thread lingers.
STUB_FOLLOW_CAP_S: Final = 20.0
TICK_S: Final = 0.05
TRACE: Final = (
    b'Traceback (most recent call last):\n  File "app.py", line 3, in follow\n'
)

DOCUMENT: Final[dict[str, Any]] = {
    "openapi": "3.0.3",
    "info": {"title": "stream", "version": "1"},
    "paths": {
        "/stream": {
            "get": {
                "parameters": [
                    {
                        "name": "follow",
                        "in": "query",
                        "schema": {"type": "number", "minimum": 0, "maximum": 120},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "One line per event.",
                        "content": {"application/x-ndjson": {}},
                    },
                    "400": {
                        "description": "Invalid input.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                },
            }
        }
    },
}


class StreamHandler(BaseHTTPRequestHandler):
    """Streams one line, then stays open (quiet or trickling) for ``follow`` seconds."""

    protocol_version = "HTTP/1.1"
    status = 200
    first_line = b'{"id": 1}\n'
    trickle = False

    def do_GET(self) -> None:
        follow = self._follow()
        if follow is None:
            body = b'{"detail": "follow must be a number from 0 to 120"}'
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(self.status)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(self.first_line)
        self.wfile.flush()
        self._hold(min(follow, STUB_FOLLOW_CAP_S))

    def _follow(self) -> float | None:
        values = parse_qs(urlsplit(self.path).query).get("follow", ["0"])
        try:
            follow = float(values[-1])
        except ValueError:
            return None
        return follow if 0 <= follow <= MAX_FOLLOW_S else None

    def _hold(self, follow_s: float) -> None:
        """Stay open until ``follow_s`` passes or the client leaves."""
        deadline = time.monotonic() + follow_s
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], TICK_S)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                return
            if self.trickle:
                try:
                    self.wfile.write(b"\n")
                    self.wfile.flush()
                except OSError:
                    return

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads outcomes, not the stub's access log."""


class QuietStream(StreamHandler):
    pass


class TricklingStream(StreamHandler):
    trickle = True


class StackTraceStream(StreamHandler):
    first_line = TRACE


class FailingStream(StreamHandler):
    status = 500


@pytest.fixture
def stream_stub(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback server with the handler the test is parametrized with."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(TICK_S,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def fuzz(base_url: str) -> tuple[list[str], int, int]:
    problems, run = fuzz_operation(
        json.loads(json.dumps(DOCUMENT)), "get", "/stream", base_url, {}, 5, 5.0
    )
    return [p.kind for p in problems], run.cut_short, run.timeouts


@pytest.mark.parametrize(
    "stream_stub",
    [QuietStream, TricklingStream],
    indirect=True,
    ids=["quiet", "trickle"],
)
def test_long_streams_are_read_in_part_and_judged(stream_stub: str) -> None:
    """Streams that outlast a case's share are cut short and judged, not timed out."""
    kinds, cut_short, timeouts = fuzz(stream_stub)

    assert kinds == []
    assert cut_short > 0
    assert timeouts == 0


@pytest.mark.parametrize(
    ("stream_stub", "kind"),
    [(StackTraceStream, "stack trace"), (FailingStream, "server error")],
    indirect=["stream_stub"],
    ids=["stack-trace", "server-error"],
)
def test_what_a_cut_stream_said_is_still_judged(stream_stub: str, kind: str) -> None:
    """A stack trace at a stream's start, or a 5xx, is found though the stream goes on."""
    kinds, cut_short, _ = fuzz(stream_stub)

    assert kind in kinds
    assert cut_short > 0
