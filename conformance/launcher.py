"""Start the target from its command, on a free loopback port, and stop it again.

The launcher owns every process the suite starts: the main instance the checks probe and
the short-lived ones that shutdown, configuration and log checks start for themselves.
Each instance gets its own port, its own scratch directory and a capture of every line it
writes, with the time it was read. Every wait runs against a monotonic deadline.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

import httpx

from conformance.errors import LaunchError, UsageError

LOOPBACK: Final = "127.0.0.1"
MAX_CAPTURED_LINES: Final = 50_000
MAX_LINE_CHARS: Final = 16_384
POLL_INTERVAL_S: Final = 0.1
KILL_WAIT_S: Final = 5.0
OUTPUT_JOIN_S: Final = 2.0


@dataclass(frozen=True)
class OutputLine:
    """One line the target wrote, with the stream and the monotonic time it was read."""

    stream: str
    text: str
    at: float


class OutputCapture:
    """Bounded, thread-safe record of a process's stdout and stderr lines."""

    def __init__(self, limit: int = MAX_CAPTURED_LINES) -> None:
        self._lines: deque[OutputLine] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.dropped = 0

    def follow(self, stream_name: str, stream: IO[bytes]) -> None:
        """Read ``stream`` line by line in a daemon thread until it closes."""
        thread = threading.Thread(
            target=self._read,
            args=(stream_name, stream),
            name=f"conformance-capture-{stream_name}",
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)

    def lines(self, stream: str | None = None) -> list[OutputLine]:
        with self._lock:
            return [line for line in self._lines if stream in (None, line.stream)]

    def tail(self, count: int = 10) -> str:
        return "\n".join(line.text for line in self.lines()[-count:])

    def join(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _read(self, stream_name: str, stream: IO[bytes]) -> None:
        with stream:
            for raw in iter(stream.readline, b""):
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                line = OutputLine(stream_name, text[:MAX_LINE_CHARS], time.monotonic())
                with self._lock:
                    if len(self._lines) == self._lines.maxlen:
                        self.dropped += 1
                    self._lines.append(line)


@dataclass
class LaunchedTarget:
    """A running instance of the target."""

    command: str
    base_url: str
    process: subprocess.Popen[bytes]
    output: OutputCapture
    instance_dir: Path
    env: dict[str, str] = field(repr=False)
    _stop_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False
    )
    _stopped_with: int | None = field(default=None, init=False, repr=False)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def send_signal(self, signum: int = signal.SIGTERM) -> None:
        if self.running:
            self.process.send_signal(signum)

    def wait_exit(self, timeout_s: float) -> int | None:
        """The exit code, or ``None`` if the process still runs after ``timeout_s``."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace_s: float) -> int:
        """SIGTERM, then SIGKILL to the whole process group once ``grace_s`` has passed.

        Stopping twice, even from two threads at once, sends one SIGTERM: a second one
        would make many servers skip their graceful shutdown.
        """
        with self._stop_lock:
            if self._stopped_with is None:
                self._stopped_with = self._stop(grace_s)
            return self._stopped_with

    def _stop(self, grace_s: float) -> int:
        self.send_signal(signal.SIGTERM)
        code = self.wait_exit(grace_s)
        if code is None:
            _kill_group(self.process)
            code = self.wait_exit(KILL_WAIT_S)

        self.output.join(timeout_s=OUTPUT_JOIN_S)
        return code if code is not None else -signal.SIGKILL


@dataclass(frozen=True)
class LaunchSpec:
    """How to start the target: the profile's ``[target]`` table, resolved."""

    command: str
    address_env: Mapping[str, str]
    env: Mapping[str, str]
    ready_path: str | None
    startup_timeout_s: float
    cwd: Path


class Launcher:
    """Starts instances of the target and stops every one it started.

    ``suite_env`` holds what the suite itself puts in the target's path: the OTLP
    exporter variables pointing at its receiver, and each stubbed dependency's URL.
    """

    def __init__(
        self, spec: LaunchSpec, suite_env: Mapping[str, str] | None = None
    ) -> None:
        self.spec = spec
        self.suite_env = dict(suite_env or {})
        self._argv = _split(spec.command)
        self._instances: list[LaunchedTarget] = []
        self._stoppers: list[threading.Thread] = []
        self._scratch = tempfile.TemporaryDirectory(prefix="conformance-")

    def start(
        self,
        extra_env: Mapping[str, str] | None = None,
        wait_ready: bool = True,
        unset: Collection[str] = (),
    ) -> LaunchedTarget:
        """Start one instance on a free port; wait until it answers unless told not to."""
        port = free_port()
        instance_dir = Path(tempfile.mkdtemp(prefix=f"{port}-", dir=self._scratch.name))
        values = {
            "host": LOOPBACK,
            "port": str(port),
            "instance_dir": str(instance_dir),
        }
        env = self._environment(values, extra_env or {}, unset)
        try:
            process = subprocess.Popen(
                [_fill(word, values) for word in self._argv],
                cwd=self.spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            msg = (
                f"The target command {self.spec.command!r} could not be started: {exc}."
            )
            raise UsageError(msg) from exc

        output = OutputCapture()
        assert process.stdout is not None and process.stderr is not None
        output.follow("stdout", process.stdout)
        output.follow("stderr", process.stderr)
        target = LaunchedTarget(
            command=self.spec.command,
            base_url=f"http://{LOOPBACK}:{port}",
            process=process,
            output=output,
            instance_dir=instance_dir,
            env=env,
        )
        self._instances.append(target)
        if wait_ready:
            self._wait_until_answering(target)

        return target

    def prepare(
        self, extra_env: Mapping[str, str] | None = None
    ) -> tuple[list[str], dict[str, str], str]:
        """The argv, environment and base URL of an instance on a fresh port.

        For an instance the caller starts itself, under a pseudo-terminal say (LOG-06).
        """
        port = free_port()
        instance_dir = Path(tempfile.mkdtemp(prefix=f"{port}-", dir=self._scratch.name))
        values = {
            "host": LOOPBACK,
            "port": str(port),
            "instance_dir": str(instance_dir),
        }
        argv = [_fill(word, values) for word in self._argv]
        env = self._environment(values, extra_env or {})
        return argv, env, f"http://{LOOPBACK}:{port}"

    @contextmanager
    def running(
        self,
        extra_env: Mapping[str, str] | None = None,
        grace_s: float = 10.0,
    ) -> Iterator[LaunchedTarget]:
        """An instance for the duration of a ``with`` block."""
        target = self.start(extra_env)
        try:
            yield target
        finally:
            target.stop(grace_s)

    def stop_soon(self, target: LaunchedTarget, grace_s: float) -> None:
        """Stop ``target`` in a thread: nothing waits for its drain but :meth:`stop_all`."""
        stopper = threading.Thread(
            target=target.stop, args=(grace_s,), name="conformance-stop", daemon=True
        )
        self._stoppers.append(stopper)
        stopper.start()

    def stop_all(self, grace_s: float) -> None:
        """Stop every instance still running, all at once, and wait for each to exit."""
        for target in self._instances:
            if target.running:
                self.stop_soon(target, grace_s)
        # Each stop is bounded by the grace period, the kill and the output's end.
        deadline = time.monotonic() + grace_s + KILL_WAIT_S + 2 * OUTPUT_JOIN_S
        for stopper in self._stoppers:
            stopper.join(max(0.0, deadline - time.monotonic()))
        self._scratch.cleanup()

    def _environment(
        self,
        values: Mapping[str, str],
        extra_env: Mapping[str, str],
        unset: Collection[str] = (),
    ) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        for name, template in self.spec.env.items():
            env[name] = _fill(template, values)
        for name, template in self.spec.address_env.items():
            env[name] = _fill(template, values)
        env.update(self.suite_env)
        env.update(extra_env)
        for name in unset:  # configuration checks start instances without a variable
            env.pop(name, None)

        return env

    def _wait_until_answering(self, target: LaunchedTarget) -> None:
        path = self.spec.ready_path or "/"
        deadline = time.monotonic() + self.spec.startup_timeout_s
        last_problem = "no attempt made"
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                code = target.process.poll()
                if code is not None:
                    target.output.join(timeout_s=1.0)
                    msg = (
                        f"The target command {target.command!r} exited with code {code} "
                        f"before answering on {target.base_url}. Its last output:\n"
                        f"{target.output.tail() or '(nothing)'}"
                    )
                    raise LaunchError(msg)
                try:
                    response = client.get(target.base_url + path)
                except httpx.HTTPError as exc:
                    last_problem = f"{type(exc).__name__}: {exc}"
                else:
                    if self.spec.ready_path is None or response.is_success:
                        return
                    last_problem = f"GET {path} answered {response.status_code}"
                time.sleep(POLL_INTERVAL_S)

        target.stop(grace_s=2.0)
        msg = (
            f"The target command {target.command!r} did not answer on {target.base_url} "
            f"within {self.spec.startup_timeout_s:g} s (last attempt: {last_problem}). "
            "Check that it listens on the address the profile's target.address_env gives it "
            "(default HTTP_ADDR=host:port). Its last output:\n"
            f"{target.output.tail() or '(nothing)'}"
        )
        raise LaunchError(msg)


def free_port(host: str = LOOPBACK) -> int:
    """A port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _split(command: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        msg = f"The target command {command!r} cannot be split into words: {exc}."
        raise UsageError(msg) from exc
    if not argv:
        msg = (
            "The target command is empty. Give --target-cmd the command that starts it."
        )
        raise UsageError(msg)

    return argv


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Replace ``{host}``, ``{port}`` and ``{instance_dir}``; other braces stay as written."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
