"""The target under a pseudo-terminal (LOG-06): what it writes when a person watches.

The instance gets the launcher's command and environment, with stdin, stdout and stderr
on the pty's terminal side, so it sees a terminal as it would in a developer's shell.
The suite reads the other side while it waits for the instance to answer, sends one
request, stops it and reads to the end. Every read and wait runs against one deadline;
when it passes the process group is killed.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Final

import httpx
import pytest

from conformance.runtime import Runtime

MAX_BYTES: Final = 1 << 20
READ_SLICE_S: Final = 0.1
POLL_EVERY_S: Final = 0.25
ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")


@dataclass
class TerminalRun:
    """The lines written under the pty, and how the run went."""

    lines: list[str]
    answered: bool
    exit_code: int | None
    timed_out: bool


def terminal_bound(runtime: Runtime) -> float:
    return runtime.settings.profile.logs.pty_timeout_s + 5.0


def run_under_terminal(runtime: Runtime) -> TerminalRun:
    """Start an instance on a pty, send one request, stop it; skip without a command."""
    if runtime.launcher is None:
        pytest.skip(
            "needs a launch command to start the target under a pseudo-terminal: pass "
            "--target-cmd or set target.command"
        )
    launcher = runtime.launcher
    argv, env, base_url = launcher.prepare()
    env.setdefault("TERM", "xterm")
    deadline = time.monotonic() + runtime.settings.profile.logs.pty_timeout_s
    reader, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            argv,
            cwd=launcher.spec.cwd,
            env=env,
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
        )
    finally:
        os.close(terminal)
    output = bytearray()
    try:
        path = launcher.spec.ready_path or "/"
        answered = _wait_answering(reader, output, base_url + path, process, deadline)
        process.send_signal(signal.SIGTERM)
        while process.poll() is None and time.monotonic() < deadline:
            _read(reader, output)
        timed_out = process.poll() is None
        for _ in range(20):
            if not _read(reader, output):
                break
    finally:
        if process.poll() is None:
            _kill(process)
        os.close(reader)
    text = ANSI.sub("", output.decode("utf-8", errors="replace"))
    lines = [line.rstrip("\r") for line in text.split("\n")]
    return TerminalRun(
        lines=[line for line in lines if line.strip()],
        answered=answered,
        exit_code=process.returncode,
        timed_out=timed_out,
    )


def _wait_answering(
    reader: int,
    output: bytearray,
    url: str,
    process: subprocess.Popen[bytes],
    deadline: float,
) -> bool:
    """Read the terminal until the instance answers ``url`` twice, or gives up."""
    answers = 0
    next_poll = time.monotonic()
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline and process.poll() is None:
            _read(reader, output)
            if time.monotonic() < next_poll:
                continue
            next_poll = time.monotonic() + POLL_EVERY_S
            try:
                client.get(url)
            except httpx.HTTPError:
                continue
            answers += 1
            if answers == 2:
                return True
    return False


def _read(reader: int, output: bytearray) -> bool:
    """Whatever the terminal side wrote within one short slice; False when nothing."""
    ready, _, _ = select.select([reader], [], [], READ_SLICE_S)
    if not ready or len(output) >= MAX_BYTES:
        return False
    try:
        chunk = os.read(reader, 65536)
    except OSError:
        # EIO: every process holding the terminal side has closed it.
        time.sleep(READ_SLICE_S)
        return False
    output.extend(chunk)
    return bool(chunk)


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5.0)
