"""How long a full run of the suite takes, beside the waits no run can avoid, and its memory.

Runs the main job (the whole suite against the reference service, launched from the
demo profile, as ``make demo`` does) several times and reports the median wall time
and the suite process's peak resident memory. Beside them it puts the run's inherent
waits, the ones the probes must sit out whatever the speed of the machine: each
server timeout the resilience checks wait to see enforced, the in-flight request and
the stream that shutdown must finish or cut, the streamed response that tracing
follows to its end, and the profile the debug check asks for. All are read from the
profile, so they follow its test-mode values. The target's start-up is measured too,
with the suite's own launcher, until the readiness path answers.

Goal: a run within 25 % of the longest single wait plus start-up. Run it as
``python bench/suite_wall_time.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, urlsplit

from conformance.launcher import Launcher, LaunchSpec
from conformance.profile import Profile, RequestSpec, load_profile

REPO: Final = Path(__file__).resolve().parent.parent
PROFILE: Final = REPO / "reference_service" / "conformance.toml"
GOAL_FACTOR: Final = 1.25
RUN_TIMEOUT_S: Final = 600.0
# The suite in this very interpreter, so its own peak memory can be read at the end.
CHILD: Final = """
import resource, sys, pytest
code = pytest.main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""


def _query_seconds(request: RequestSpec | None, name: str) -> float | None:
    if request is None:
        return None
    values = parse_qs(urlsplit(request.path).query).get(name)
    return float(values[0]) if values else None


def inherent_waits(profile: Profile) -> list[tuple[str, float]]:
    """The waits the profile implies, each named after the check that sits it out."""
    expect = profile.expect
    waits = [
        ("RES-01 header timeout enforced", expect.header_timeout_s),
        ("RES-02 body read timeout enforced", expect.read_timeout_s),
        ("RES-03 idle connection closed", expect.idle_timeout_s),
        ("RES-09 stream cut within the grace period", expect.shutdown_grace_s),
    ]
    optional = [
        ("RES-06 in-flight request finished at SIGTERM", expect.slow_request, "delay"),
        ("TRC-08 streamed response followed", expect.stream_request, "follow"),
    ]
    for label, request, parameter in optional:
        seconds = _query_seconds(request, parameter)
        if seconds is not None:
            waits.append((label, seconds))
    profiling = parse_qs(urlsplit(profile.debug.profile_path).query).get("seconds")
    if profiling:
        waits.append(("DBG-03 profile taken", float(profiling[0])))
    return waits


def demo_env() -> dict[str, str]:
    """Fresh random credentials, as ``make demo`` sets them."""
    return {
        **os.environ,
        "BASIC_AUTH_USER": "demo",
        "BASIC_AUTH_PASSWORD": secrets.token_urlsafe(24),
        "API_KEYS": secrets.token_urlsafe(24),
        "JWT_SECRET": secrets.token_urlsafe(24),
        "OAUTH_CLIENT_ID": "demo-client",
        "OAUTH_CLIENT_SECRET": secrets.token_urlsafe(24),
        "OAUTH_USER_PASSWORD": secrets.token_urlsafe(24),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        # Ports of our own for the suite's receiver, so a run beside another never clashes.
        "CONFORMANCE_OTLP_HTTP": "127.0.0.1:0",
        "CONFORMANCE_OTLP_GRPC": "127.0.0.1:0",
    }


def startup_seconds(profile: Profile, env: dict[str, str], runs: int) -> list[float]:
    """Time from launch until the readiness path answers, with the suite's launcher."""
    target = profile.target
    assert target.command is not None
    spec = LaunchSpec(
        command=target.command,
        address_env=target.address_env,
        env=target.env,
        ready_path=target.ready_path,
        startup_timeout_s=target.startup_timeout_s,
        cwd=REPO,
    )
    times = []
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        launcher = Launcher(spec)
        for _ in range(runs):
            started = time.perf_counter()
            instance = launcher.start()
            times.append(time.perf_counter() - started)
            instance.stop(10.0)
        launcher.stop_all(5.0)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return times


def suite_run(env: dict[str, str]) -> tuple[float, float, str]:
    """One full run: wall seconds, the suite's peak memory in MB, and its summary."""
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as scratch:
        memory_file = Path(scratch) / "maxrss"
        command = [
            sys.executable,
            "-c",
            CHILD,
            str(memory_file),
            "-p",
            "no:cacheprovider",
            "-q",
            "--profile",
            str(PROFILE),
            "--report-dir",
            str(Path(scratch) / "reports"),
        ]
        started = time.perf_counter()
        result = subprocess.run(
            command,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
        elapsed = time.perf_counter() - started
        if result.returncode != 0 or not memory_file.exists():
            raise SystemExit(
                f"the suite run failed ({result.returncode}):\n{result.stdout[-3000:]}"
            )
        peak_mb = int(memory_file.read_text()) / 1024
    summary = re.findall(
        r"^=* ?(\d+ passed.*?) in [\d.]+s", result.stdout, re.MULTILINE
    )
    return elapsed, peak_mb, summary[-1] if summary else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="full suite runs")
    options = parser.parse_args()

    profile = load_profile(PROFILE)
    env = demo_env()
    waits = inherent_waits(profile)
    startups = startup_seconds(profile, env, runs=5)
    runs = [suite_run(env) for _ in range(options.runs)]

    walls = [wall for wall, _, _ in runs]
    peaks = [peak for _, peak, _ in runs]
    startup = statistics.median(startups)
    longest = max(seconds for _, seconds in waits)
    bound = longest + startup
    wall = statistics.median(walls)

    print("inherent waits (from the demo profile):")
    for label, seconds in sorted(waits, key=lambda item: -item[1]):
        print(f"  {label:<48}{seconds:>6.1f} s")
    print(f"  {'sum':<48}{sum(s for _, s in waits):>6.1f} s")
    print(f"target start-up until ready, median of {len(startups)}: {startup:.2f} s")
    print(f"full suite runs: {len(runs)} ({runs[0][2]})")
    print(
        f"  wall time, median: {wall:.1f} s (min {min(walls):.1f}, max {max(walls):.1f})"
    )
    print(f"  longest wait + start-up: {bound:.1f} s; ratio {wall / bound:.2f}")
    verdict = "met" if wall <= GOAL_FACTOR * bound else "MISSED"
    print(
        f"  goal: within {GOAL_FACTOR - 1:.0%} of it ({GOAL_FACTOR * bound:.1f} s): {verdict}"
    )
    print(
        f"  suite peak memory, median: {statistics.median(peaks):.0f} MB (goal 200 MB)"
    )


if __name__ == "__main__":
    main()
