"""Stopping launched instances: once each, in the background, all waited for at the end."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

from conformance.isolation import IsolatedInstances
from conformance.launcher import Launcher, LaunchSpec

# Counts the SIGTERMs it gets in a file named by its port, and exits after a short drain.
SERVER: Final = """
import os, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, HTTPServer

class Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", int(sys.argv[1])), Ok)
marks = os.path.join(sys.argv[2], "sigterms-" + sys.argv[1])

def on_term(signum, frame):
    with open(marks, "a") as out:
        out.write("x")
    threading.Timer(0.3, os._exit, [0]).start()

signal.signal(signal.SIGTERM, on_term)
server.serve_forever()
"""


def launcher(tmp_path: Path) -> Launcher:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    return Launcher(
        LaunchSpec(
            command=f"{sys.executable} {script} {{port}} {tmp_path}",
            address_env={},
            env={},
            ready_path="/",
            startup_timeout_s=30,
            cwd=tmp_path,
        )
    )


def sigterms(tmp_path: Path, base_url: str) -> str:
    """The SIGTERMs the instance on ``base_url`` got (its scratch dir is gone by then)."""
    marks = tmp_path / f"sigterms-{base_url.rsplit(':', 1)[1]}"
    return marks.read_text() if marks.exists() else ""


def test_a_stop_in_the_background_and_a_stop_at_the_end_send_one_sigterm(
    tmp_path: Path,
) -> None:
    """stop_all waits for a stop already under way instead of signalling again."""
    starter = launcher(tmp_path)
    first, second = starter.start(), starter.start()

    starter.stop_soon(first, grace_s=5)
    marks = []
    try:
        starter.stop_all(grace_s=5)
        marks = [sigterms(tmp_path, i.base_url) for i in (first, second)]
    finally:
        codes = [first.stop(grace_s=5), second.stop(grace_s=5)]

    assert not first.running and not second.running
    assert codes == [0, 0]
    assert marks == ["x", "x"]


def test_isolated_instances_are_fresh_and_the_unused_one_is_stopped(
    tmp_path: Path,
) -> None:
    """Each take is a new instance; one started ahead but never taken does not linger."""
    starter = launcher(tmp_path)
    pool = IsolatedInstances(starter, wanted=3, startup_s=30, grace_s=5)
    try:
        first = pool.take()
        second = pool.take()
        pool.release(first)
        pool.release(second)
    finally:
        pool.close()
        starter.stop_all(grace_s=5)

    assert first.base_url != second.base_url
    started = starter._instances
    assert len(started) == 3
    assert not any(instance.running for instance in started)
