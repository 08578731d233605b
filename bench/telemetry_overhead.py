"""What tracing, metrics and access logs cost the reference service, beside the usual set-up.

Serves ``GET /orders/{id}`` from four processes under the same server and worker
count: a bare FastAPI app with the reference's route, the same app with the standard
OpenTelemetry instrumentation (with its defaults, and tuned: internal spans off, 5 %
sampling), and the reference service with everything on. Every instrumented process
exports over OTLP/HTTP to the suite's own receiver, running in this process. wrk
(Debian's package) loads each in turn, round after round, so every round compares
neighbours in time; the table gives medians over rounds and each variant's median
ratio to the bare app within a round. Run it as ``python bench/telemetry_overhead.py``.

Every server process is pinned to core 0 and wrk, this process and the receiver to
core 1, so each server gets one core as a one-worker deployment would.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

from conformance.launcher import free_port
from conformance.telemetry.receiver import OtlpReceiver
from conformance.telemetry.store import TelemetryStore

REPO: Final = Path(__file__).resolve().parent.parent
GOAL_RATIO: Final = 0.75
SERVER_CORE: Final = 0
LOAD_CORE: Final = 1
START_TIMEOUT_S: Final = 30.0
USER: Final = "bench"
PASSWORD: Final = "bench-password-not-a-secret"


@dataclass(frozen=True)
class Variant:
    """A service to load: how to start it, and what it stands for."""

    description: str
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


def _bench_app(name: str) -> tuple[str, ...]:
    return (sys.executable, str(REPO / "bench" / "overhead_apps.py"), name)


_REFERENCE: Final = (sys.executable, "-m", "reference_service")
VARIANTS: Final = {
    "bare": Variant("bare FastAPI, same route", _bench_app("bare")),
    "standard": Variant(
        "standard OTel instrumentation, defaults", _bench_app("standard")
    ),
    "standard-tuned": Variant(
        "standard OTel, internal spans off, 5 % sampled", _bench_app("standard-tuned")
    ),
    "reference": Variant("reference: tracing, metrics, access logs", _REFERENCE),
}
# With --ablation: the reference with one part switched off, to show what each costs.
ABLATIONS: Final = {
    "reference-no-access-log": Variant(
        "reference, access log off", _REFERENCE, (("LOG_LEVEL", "warning"),)
    ),
    "reference-no-otlp-metrics": Variant(
        "reference, OTLP metrics off", _REFERENCE, (("OTEL_METRICS_EXPORTER", "none"),)
    ),
    "reference-no-sampling": Variant(
        "reference, no trace sampled",
        _REFERENCE,
        (("TRACE_SAMPLE_RATE_PER_S", "0"), ("TRACE_SAMPLE_BURST", "0")),
    ),
}
ALL_VARIANTS: Final = {**VARIANTS, **ABLATIONS}


@dataclass
class Server:
    """One variant's running process and the order it serves."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    order_url: str = ""


@dataclass
class Figures:
    """What wrk measured, run after run."""

    rps: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0


def _environment(
    variant: Variant, database: Path, port: int, receiver: OtlpReceiver
) -> dict[str, str]:
    return {
        **os.environ,
        "HTTP_ADDR": f"127.0.0.1:{port}",
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "info",
        "BASIC_AUTH_USER": USER,
        "BASIC_AUTH_PASSWORD": PASSWORD,
        "API_KEYS": "bench-api-key-not-a-secret",
        "JWT_SECRET": "bench-jwt-secret-not-a-secret-0123456789",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.http_endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "PYTHONPATH": str(REPO),
        **dict(variant.env),
    }


@contextmanager
def running(name: str, workdir: Path, receiver: OtlpReceiver) -> Iterator[Server]:
    """Start a variant on a free port, its output going to a file as in a container."""
    variant = ALL_VARIANTS[name]
    port = free_port("127.0.0.1")
    log = (workdir / f"{name}.log").open("wb")
    process = subprocess.Popen(
        variant.command,
        env=_environment(variant, workdir / f"{name}.db", port, receiver),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CORE}),
    )
    server = Server(name, process, f"http://127.0.0.1:{port}")
    try:
        server.order_url = _seed_order(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def _seed_order(server: Server) -> str:
    """Wait for the server to answer, create one order, and return its URL."""
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=server.url, auth=(USER, PASSWORD), timeout=5) as client:
        while True:
            if server.process.poll() is not None:
                raise SystemExit(
                    f"{server.name} exited with {server.process.returncode}"
                )
            try:
                created = client.post("/orders", json={"amount": 9.5, "type": "retail"})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{server.name} did not start") from None
                time.sleep(0.1)
        created.raise_for_status()
        order_url = f"{server.url}/orders/{created.json()['id']}"
        client.get(order_url).raise_for_status()
    return order_url


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_P99 = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_BAD = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)|Socket errors:.*")
_UNIT_MS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def load(url: str, seconds: float, connections: int) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of one wrk run against `url`."""
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    command = [
        "wrk",
        "--threads=1",
        f"--connections={connections}",
        f"--duration={seconds:g}s",
        "--timeout=5s",
        "--latency",
        f"--header=Authorization: Basic {token}",
        url,
    ]
    output = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {LOAD_CORE}),
    ).stdout
    rps, p99 = _RPS.search(output), _P99.search(output)
    if rps is None or p99 is None:
        raise SystemExit(f"unexpected wrk output:\n{output}")
    if bad := _BAD.search(output):
        raise SystemExit(f"wrk saw failures against {url}: {bad.group(0)}")
    return float(rps.group(1)), float(p99.group(1)) * _UNIT_MS[p99.group(2)]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else float("nan")


def measure(
    names: list[str], rounds: int, seconds: float, connections: int
) -> dict[str, Figures]:
    """Run every variant side by side; the load order rotates from round to round."""
    figures = {name: Figures() for name in names}
    store = TelemetryStore(capacity=200_000)
    workdir = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    try:
        with (
            OtlpReceiver(store, "127.0.0.1:0", grpc_address=None) as receiver,
            ExitStack() as stack,
        ):
            servers = [
                stack.enter_context(running(n, workdir, receiver)) for n in names
            ]
            for server in servers:
                load(server.order_url, min(seconds, 2.0), connections)  # warm-up
            for round_ in range(rounds):
                shift = round_ % len(servers)
                for server in servers[shift:] + servers[:shift]:
                    rps, p99 = load(server.order_url, seconds, connections)
                    figures[server.name].rps.append(rps)
                    figures[server.name].p99_ms.append(p99)
                    store.clear()
            for server in servers:
                figures[server.name].peak_rss_mb = peak_rss_mb(server.process.pid)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


def report(
    figures: dict[str, Figures], rounds: int, seconds: float, conns: int
) -> None:
    """Print the table: medians, the spread, and the ratio to the bare app."""
    bare = figures["bare"].rps
    print(
        f"GET /orders/{{id}}: {rounds} rounds of {seconds:g} s, wrk 1 thread, {conns} conns"
    )
    print(
        f"{'variant':<48}{'median rps':>11}{'min':>8}{'max':>8}"
        f"{'p99 ms':>8}{'vs bare':>9}{'peak MB':>9}"
    )
    for name, figure in figures.items():
        ratios = [rps / base for rps, base in zip(figure.rps, bare, strict=True)]
        print(
            f"{ALL_VARIANTS[name].description:<48}{statistics.median(figure.rps):>11,.0f}"
            f"{min(figure.rps):>8,.0f}{max(figure.rps):>8,.0f}"
            f"{statistics.median(figure.p99_ms):>8.1f}"
            f"{statistics.median(ratios):>9.1%}{figure.peak_rss_mb:>9.1f}"
        )
    ratio = (
        statistics.median(
            r / b for r, b in zip(figures["reference"].rps, bare, strict=True)
        )
        if "reference" in figures
        else None
    )
    if ratio is not None:
        verdict = "met" if ratio >= GOAL_RATIO else "MISSED"
        print(
            f"goal: the reference keeps {GOAL_RATIO:.0%} of the bare throughput: {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of runs")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help="comma-separated; bare comes first",
    )
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="also load the reference with one part of its telemetry off at a time",
    )
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "wrk not found: install Debian's wrk package (apt-get install wrk)"
        )
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("two cores are needed: one for the server, one for the load")

    names = ["bare", *(n for n in options.variants.split(",") if n and n != "bare")]
    if options.ablation:
        names += list(ABLATIONS)
    unknown = set(names) - set(ALL_VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variants: {', '.join(sorted(unknown))}")
    figures = measure(names, options.rounds, options.seconds, options.connections)
    report(figures, options.rounds, options.seconds, options.connections)


if __name__ == "__main__":
    main()
