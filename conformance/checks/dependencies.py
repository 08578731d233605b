"""HLT-02: health reports a failing dependency with 503, promptly, and recovers.

The suite makes the dependency fail itself, on an instance of its own: an HTTP
dependency is replaced by a stub of this instance's own, a TCP one (a database) is
reached through a fault proxy. Each fault in turn (refuse, reset, stall, and 503 for
HTTP), then the dependency comes back and health must follow.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from conformance.background import probes_of, scenario
from conformance.errors import CheckFailed
from conformance.evidence import Evidence
from conformance.findings import Findings
from conformance.health_shapes import read_health
from conformance.profile import Dependency, Profile
from conformance.runtime import Runtime
from conformance.spec import check
from conformance.stubs.fault_proxy import FaultProxy
from conformance.stubs.http_stub import DependencyStub

HTTP_FAULTS: Final = ("503", "refuse", "reset", "stall")
TCP_FAULTS: Final = ("refuse", "reset", "stall")
RECOVERY_S: Final = 10.0
HEALTH_SLACK_S: Final = 5.0


@dataclass
class Observed:
    """Health's answer while one fault was on (or after it ended)."""

    fault: str
    status: str
    elapsed_s: float
    failing: list[str] = field(default_factory=list)


@dataclass
class DependencyRun:
    name: str
    skipped: str = ""
    baseline: Observed | None = None
    faults: list[Observed] = field(default_factory=list)
    recovered: Observed | None = None


def _bound(runtime: Runtime) -> float:
    profile = runtime.settings.profile
    per_fault = profile.health.max_latency_s + HEALTH_SLACK_S
    count = len(profile.dependencies) * (len(HTTP_FAULTS) * per_fault + RECOVERY_S)
    return profile.target.startup_timeout_s * len(profile.dependencies) + count + 10


@scenario("hlt02:faults", checks=["HLT-02"], bound=_bound)
def _faults(runtime: Runtime) -> list[DependencyRun]:
    if runtime.launcher is None:
        pytest.skip(
            "needs a launch command so the suite can stand in the dependency's path: "
            "pass --target-cmd or set target.command"
        )
    return [_exercise(runtime, d) for d in runtime.settings.profile.dependencies]


def _exercise(runtime: Runtime, dependency: Dependency) -> DependencyRun:
    run = DependencyRun(dependency.name)
    if dependency.kind == "http":
        # The stub answers 503 itself; the proxy in front of it makes the TCP faults,
        # which also break connections the target keeps alive in its pool.
        with DependencyStub(dependency.name) as stub:
            port = int(stub.url.rsplit(":", 1)[1])
            with FaultProxy(dependency.name, ("127.0.0.1", port)) as proxy:
                host, proxy_port = proxy.address
                env = {dependency.env: f"http://{host}:{proxy_port}"}
                _drive(runtime, run, env, _Faults(stub, proxy), HTTP_FAULTS)
        return run
    if dependency.kind == "tcp":
        value = _configured_value(runtime, dependency.env)
        parts = urlsplit(value) if value and "://" in value else None
        if parts is None or not parts.hostname or not parts.port:
            run.skipped = (
                f"{dependency.env} must hold a URL with host and port (e.g. "
                "postgresql://user@127.0.0.1:5432/db) in [target.env] or the environment"
            )
            return run
        with FaultProxy(dependency.name, (parts.hostname, parts.port)) as proxy:
            host, port = proxy.address
            netloc = parts.netloc.rsplit("@", 1)
            prefix = netloc[0] + "@" if len(netloc) == 2 else ""
            url = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))
            _drive(
                runtime, run, {dependency.env: url}, _Faults(None, proxy), TCP_FAULTS
            )
        return run
    run.skipped = f"{dependency.name} is embedded: the suite cannot stand in its path"
    return run


class _Faults:
    """Sends each fault where it is made: 503 to the stub, the rest to the proxy."""

    def __init__(self, stub: DependencyStub | None, proxy: FaultProxy) -> None:
        self.stub = stub
        self.proxy = proxy

    def set_mode(self, mode: str) -> None:
        if self.stub is not None:
            self.stub.set_mode("503" if mode == "503" else "ok")
        self.proxy.set_mode("ok" if mode == "503" else mode)  # type: ignore[arg-type]


def _configured_value(runtime: Runtime, variable: str) -> str | None:
    assert runtime.launcher is not None
    template = runtime.launcher.spec.env.get(variable)
    if template is None:
        return os.environ.get(variable)
    return template.replace("{host}", "127.0.0.1")


def _drive(
    runtime: Runtime,
    run: DependencyRun,
    env: dict[str, str],
    fault: _Faults,
    modes: tuple[str, ...],
) -> None:
    assert runtime.launcher is not None
    instance = runtime.launcher.start(env)
    health = runtime.settings.profile.health
    url = instance.base_url + health.path
    timeout = health.max_latency_s + HEALTH_SLACK_S
    try:
        with httpx.Client(timeout=timeout) as client:
            run.baseline = _observe(client, url, "none")
            for mode in modes:
                fault.set_mode(mode)
                run.faults.append(_observe(client, url, mode))
            fault.set_mode("ok")
            deadline = time.monotonic() + RECOVERY_S
            while time.monotonic() < deadline:
                run.recovered = _observe(client, url, "recovered")
                if run.recovered.status == "200":
                    break
                time.sleep(0.2)
    finally:
        fault.set_mode("ok")
        instance.stop(grace_s=5.0)


def _observe(client: httpx.Client, url: str, fault: str) -> Observed:
    started = time.monotonic()
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return Observed(fault, type(exc).__name__, time.monotonic() - started)
    elapsed = time.monotonic() - started
    try:
        report = read_health(response.json())
    except ValueError:
        report = None
    failing = report.failing() if report is not None else []
    return Observed(fault, str(response.status_code), elapsed, failing)


def _describe(seen: Observed) -> str:
    failing = ", ".join(seen.failing) or "none"
    return f"{seen.fault}: {seen.status} in {seen.elapsed_s:.2f} s, failing: {failing}"


@check(
    "HLT-02",
    category="health",
    title="A failing dependency turns health into a prompt 503 naming it; it recovers",
    pattern="Orchestrators read the status code: health must answer 503 naming the "
    "broken dependency, stay prompt while it hangs, and return to 200 on its own.",
    remediation="Ping each dependency under its own short timeout, answer 503 when "
    "any fails with its name marked failing, and reconnect on the next ping.",
    reference="reference_service/health.py",
)
def test_failing_dependency_is_reported(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    runs: list[DependencyRun] = probes_of(request.config).result("hlt02:faults")
    exercised = [r for r in runs if not r.skipped]
    for run in runs:
        lines = [run.skipped] if run.skipped else []
        for seen in [run.baseline, *run.faults, run.recovered]:
            if seen is not None:
                lines.append(_describe(seen))
        evidence.note(f"dependency {run.name}", "\n".join(lines))
    if not exercised:
        pytest.skip(
            "needs a dependency the suite can interpose: declare one with kind = "
            '"http" or kind = "tcp" and the variable that points the target at it'
        )

    bound = profile.health.max_latency_s
    findings = Findings()
    for run in exercised:
        if run.baseline is None or run.baseline.status != "200":
            before = _describe(run.baseline) if run.baseline else "nothing"
            msg = f"health was not 200 before {run.name} was made to fail: {before}"
            raise CheckFailed(
                msg, expected="200 with the dependency up", observed=before
            )
        for seen in run.faults:
            if seen.status != "503":
                findings.add(
                    f"with {run.name} in fault {seen.fault!r} health answered "
                    f"{seen.status}, not 503",
                    expected=503,
                    observed=_describe(seen),
                )
            elif run.name not in seen.failing:
                findings.add(
                    f"with {run.name} in fault {seen.fault!r} the 503 body does not "
                    f"name {run.name} as failing",
                    expected=f"{run.name} marked failing",
                    observed=_describe(seen),
                )
            if seen.elapsed_s > bound:
                findings.add(
                    f"with {run.name} in fault {seen.fault!r} health took "
                    f"{seen.elapsed_s:.2f} s, over its {bound:g} s bound",
                    expected=f"<= {bound:g} s",
                    observed=f"{seen.elapsed_s:.2f} s",
                )
        if run.recovered is None or run.recovered.status != "200":
            after = _describe(run.recovered) if run.recovered else "nothing"
            findings.add(
                f"health did not return to 200 within {RECOVERY_S:g} s after "
                f"{run.name} came back",
                expected=200,
                observed=after,
            )
    findings.raise_if_any()
