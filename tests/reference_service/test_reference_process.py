"""The service as a process: configuration errors, start, timeouts, SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _service_env(
    tmp_path: Path, password: str, api_key: str, jwt_secret: str
) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HTTP_ADDR")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path}/orders.db",
        BASIC_AUTH_PASSWORD=password,
        API_KEYS=api_key,
        JWT_SECRET=jwt_secret,
        LOG_LEVEL="info",
    )
    return env


def _run_module(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reference_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


@pytest.fixture
def env(tmp_path: Path, password: str, api_key: str, jwt_secret: str) -> dict[str, str]:
    """A complete environment for the service, on a temporary database."""
    return _service_env(tmp_path, password, api_key, jwt_secret)


@pytest.fixture
def service(
    env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start the service on a free loopback port; always stop it afterwards."""
    port = _free_port()
    env.update(HTTP_ADDR=f"127.0.0.1:{port}", READ_HEADER_TIMEOUT="1s")
    stdout = (tmp_path / "stdout.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_service"],
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
        stdout.close()


def _get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    # http.client rather than httpx: other tests in the session may reload
    # httpx's transport modules, and a readiness poll must not depend on that.
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def _wait_healthy(
    process: subprocess.Popen[str],
    port: int,
) -> tuple[dict[str, str], bytes]:
    deadline = time.monotonic() + START_TIMEOUT
    last = "nothing"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"service exited early with code {process.returncode}")
        try:
            status, headers, body = _get(port, "/healthz")
        except OSError as exc:
            last = repr(exc)
        else:
            if status == 200:
                return headers, body
            last = f"{status} {body!r}"
        time.sleep(0.1)
    pytest.fail(f"/healthz not 200 within {START_TIMEOUT} s; last answer: {last}")


def test_missing_database_url_exits_2_with_one_line(env: dict[str, str]) -> None:
    """Without DATABASE_URL the service exits 2 with one stderr line and no traceback."""
    del env["DATABASE_URL"]

    result = _run_module(env)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "configuration error: DATABASE_URL is required "
        "(set it to sqlite:///path/to/orders.db)",
    ]
    assert "Traceback" not in result.stderr + result.stdout


def test_unparsable_duration_exits_2_naming_the_variable(env: dict[str, str]) -> None:
    """A timeout that does not parse stops start-up naming the variable and problem."""
    env["SHUTDOWN_GRACE"] = "thirty"

    result = _run_module(env)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("configuration error: SHUTDOWN_GRACE='thirty' is invalid")
    assert "Traceback" not in result.stderr


def test_service_starts_serves_and_stops_cleanly_on_sigterm(
    service: tuple[subprocess.Popen[str], int],
    tmp_path: Path,
) -> None:
    """A real start answers /healthz, logs only JSON, and exits 0 soon after SIGTERM."""
    process, port = service

    headers, body = _wait_healthy(process, port)
    assert json.loads(body)["status"] == {"database": "OK"}
    assert "server" not in headers
    assert "x-powered-by" not in headers

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_TIMEOUT) == 0

    lines = (tmp_path / "stdout.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "msg"} <= entry.keys() for entry in entries)
    assert any(entry.get("http.path") == "/healthz" for entry in entries)


def test_connection_that_sends_no_headers_is_closed(
    service: tuple[subprocess.Popen[str], int],
) -> None:
    """READ_HEADER_TIMEOUT closes a connection that never finishes its headers."""
    process, port = service
    _wait_healthy(process, port)

    with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        assert slow.recv(1024) == b""
        elapsed = time.monotonic() - started

    assert 0.5 < elapsed < 3.0
