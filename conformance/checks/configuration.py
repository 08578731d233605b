"""Configuration from the environment (CFG-01 to CFG-03), on short-lived instances.

Each probe starts an instance of its own with one variable changed, removed or made
invalid, and reads what the process does and writes. They run in the background from
the start of the session.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Final

import httpx
import pytest

from conformance.background import probes_of, scenario
from conformance.errors import CheckFailed
from conformance.evidence import Evidence
from conformance.findings import Findings
from conformance.launcher import LOOPBACK, free_port
from conformance.leaks import find_stack_trace
from conformance.profile import Profile
from conformance.runtime import Runtime
from conformance.spec import check

SETTINGS: Final = "reference_service/settings.py"
INVALID_DURATION: Final = "ten seconds"
MAX_MESSAGE_LINES: Final = 3
LEVEL_KEYS: Final = ("level", "levelname", "severity", "log.level", "severity_text")
PLAIN_LEVEL: Final = re.compile(r"\b(DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL)\b")
BELOW_WARNING: Final = frozenset({"trace", "debug", "info"})
PROBLEM_WORDS: Final = ("invalid", "parse", "unit", "duration", "expected", "must")


@dataclass
class ConfigRun:
    """What one short-lived instance did: its exit and every line it wrote."""

    exit_code: int | None = None
    exit_after_s: float | None = None
    answered: str = ""
    lines: list[str] = field(default_factory=list)


def _profile(runtime: Runtime) -> Profile:
    return runtime.settings.profile


def _start_bound(runtime: Runtime) -> float:
    return _profile(runtime).configuration.startup_exit_s + 10.0


def _launch_bound(runtime: Runtime) -> float:
    return _profile(runtime).target.startup_timeout_s + 15.0


def _require_launcher(runtime: Runtime) -> None:
    if runtime.launcher is None:
        pytest.skip(
            "needs a launch command to start instances with other variables: pass "
            "--target-cmd or set target.command"
        )


def _failing_start(
    runtime: Runtime, env: dict[str, str], unset: tuple[str, ...] = ()
) -> ConfigRun:
    _require_launcher(runtime)
    assert runtime.launcher is not None
    bound = _profile(runtime).configuration.startup_exit_s
    started = time.monotonic()
    instance = runtime.launcher.start(env, wait_ready=False, unset=unset)
    code = instance.wait_exit(bound)
    run = ConfigRun(exit_code=code)
    if code is None:
        instance.stop(grace_s=2.0)
    else:
        run.exit_after_s = time.monotonic() - started
        instance.output.join(timeout_s=2.0)
    run.lines = [runtime.redactor.text(line.text) for line in instance.output.lines()]
    return run


@scenario("cfg:missing", checks=["CFG-02"], bound=_start_bound)
def _missing(runtime: Runtime) -> ConfigRun:
    name = _profile(runtime).configuration.required_env
    return _failing_start(runtime, {}, unset=(name,))


@scenario("cfg:invalid", checks=["CFG-03"], bound=_start_bound)
def _invalid(runtime: Runtime) -> ConfigRun:
    name = _profile(runtime).configuration.duration_env
    return _failing_start(runtime, {name: INVALID_DURATION})


def _with_level(runtime: Runtime, level: str) -> ConfigRun:
    """Start on an address of our choosing at ``level``; serve a few requests."""
    _require_launcher(runtime)
    assert runtime.launcher is not None
    profile = _profile(runtime)
    port = free_port()
    env = {
        name: template.replace("{host}", LOOPBACK).replace("{port}", str(port))
        for name, template in profile.target.address_env.items()
    }
    env[profile.configuration.log_level_env] = level
    instance = runtime.launcher.start(env, wait_ready=False)
    run = ConfigRun()
    deadline = time.monotonic() + profile.target.startup_timeout_s
    url = f"http://{LOOPBACK}:{port}{profile.health.path}"
    try:
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline and instance.running:
                try:
                    run.answered = str(client.get(url).status_code)
                    client.get(url + "-conformance-missing")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
        time.sleep(0.5)
    finally:
        instance.stop(grace_s=5.0)
    run.lines = [runtime.redactor.text(line.text) for line in instance.output.lines()]
    return run


@scenario("cfg:quiet", checks=["CFG-01"], bound=_launch_bound)
def _quiet(runtime: Runtime) -> ConfigRun:
    return _with_level(runtime, "warning")


@scenario("cfg:verbose", checks=["CFG-01"], bound=_launch_bound)
def _verbose(runtime: Runtime) -> ConfigRun:
    return _with_level(runtime, "debug")


def level_of(line: str) -> str | None:
    """A log line's level, from a JSON field or a plain-text level word."""
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if isinstance(entry, dict):
        for key in LEVEL_KEYS:
            if isinstance(entry.get(key), str):
                return str(entry[key]).lower()
        return None
    match = PLAIN_LEVEL.search(line)
    return match.group(1).lower() if match else None


def _note_run(evidence: Evidence, label: str, run: ConfigRun) -> None:
    exit_text = (
        f"exit code {run.exit_code} after {run.exit_after_s:.2f} s"
        if run.exit_code is not None and run.exit_after_s is not None
        else "still running at the bound; stopped"
    )
    evidence.note(f"{label}: exit", exit_text)
    evidence.note(f"{label}: output", "\n".join(run.lines[-20:]) or "(nothing)")


def _judge_failed_start(
    run: ConfigRun, variable: str, bound: float, what: str
) -> Findings:
    findings = Findings()
    if run.exit_code is None:
        findings.add(
            f"with {what}, the target was still running after {bound:g} s",
            expected=f"a non-zero exit within {bound:g} s",
            observed="still running",
        )
        return findings
    if run.exit_code == 0:
        findings.add(
            f"with {what}, the target exited with code 0",
            expected="a non-zero exit code",
            observed=0,
        )
    output = "\n".join(run.lines)
    trace = find_stack_trace(output)
    if trace:
        findings.add(
            f"with {what}, the target printed a traceback instead of one message",
            expected=f"one line naming {variable}",
            observed=trace.excerpt,
        )
    naming = [line for line in run.lines if variable in line]
    if not naming:
        findings.add(
            f"with {what}, no line of the output names {variable}",
            expected=f"a message naming {variable}",
            observed=output[-500:] or "(nothing)",
        )
    elif not trace and len([x for x in run.lines if x.strip()]) > MAX_MESSAGE_LINES:
        findings.add(
            f"with {what}, the message naming {variable} came among "
            f"{len(run.lines)} lines",
            expected="one clear message",
            observed=output[-500:],
            severity="warning",
        )
    return findings


@check(
    "CFG-01",
    category="configuration",
    title="The listen address and the log level come from the environment",
    pattern="Twelve-factor configuration: the same build runs anywhere because its "
    "address and verbosity are set by the environment, not the code.",
    remediation="Read the listen address (HTTP_ADDR) and LOG_LEVEL from the "
    "environment at start-up, with the guide's defaults.",
    reference=SETTINGS,
)
def test_address_and_log_level_come_from_the_environment(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    probes = probes_of(request.config)
    quiet: ConfigRun = probes.result("cfg:quiet")
    verbose: ConfigRun = probes.result("cfg:verbose")
    _note_run(evidence, "LOG_LEVEL=warning", quiet)
    _note_run(evidence, "LOG_LEVEL=debug", verbose)
    variable = profile.configuration.log_level_env
    names = ", ".join(profile.target.address_env)
    if not quiet.answered:
        msg = f"the target did not answer on the address given through {names}"
        raise CheckFailed(msg, expected="answers on that address", observed="no answer")

    noisy = [line for line in quiet.lines if level_of(line) in BELOW_WARNING]
    chatty = [line for line in verbose.lines if level_of(line) in BELOW_WARNING]
    if not chatty:
        pytest.skip(
            f"with {variable}=debug the target wrote no debug or info line, so the "
            "level's effect cannot be seen; log start-up or requests at info"
        )
    if noisy:
        msg = f"with {variable}=warning the target still wrote {len(noisy)} lines below it"
        raise CheckFailed(msg, expected="warning and above only", observed=noisy[:5])


@check(
    "CFG-02",
    category="configuration",
    title="A missing required variable stops start-up with one clear message",
    pattern="Fail fast on configuration: a service missing what it needs stops at "
    "once, naming what to set, instead of failing later on a request.",
    remediation="Validate required variables before starting; print one line naming "
    "the variable and exit non-zero, without a traceback.",
    reference="reference_service/__main__.py",
)
def test_missing_variable_stops_start_up(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    run: ConfigRun = probes_of(request.config).result("cfg:missing")
    variable = profile.configuration.required_env
    _note_run(evidence, f"without {variable}", run)
    bound = profile.configuration.startup_exit_s
    _judge_failed_start(run, variable, bound, f"{variable} unset").raise_if_any()


@check(
    "CFG-03",
    category="configuration",
    title="An invalid value stops start-up, naming the variable and the problem",
    pattern="A value that does not parse is as fatal as a missing one; the message "
    "must say which variable and what is wrong with it.",
    remediation="Parse every variable at start-up (durations in Go's syntax: 10s, "
    "1m30s) and report the variable and the problem on one line.",
    reference=SETTINGS,
)
def test_invalid_value_stops_start_up(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    run: ConfigRun = probes_of(request.config).result("cfg:invalid")
    variable = profile.configuration.duration_env
    what = f"{variable}={INVALID_DURATION!r}"
    _note_run(evidence, what, run)
    bound = profile.configuration.startup_exit_s
    findings = _judge_failed_start(run, variable, bound, what)
    naming = [line for line in run.lines if variable in line]
    if naming and not any(w in line.lower() for line in naming for w in PROBLEM_WORDS):
        findings.add(
            f"the message names {variable} but not what is wrong with its value",
            expected="the variable and the value's problem",
            observed=naming[0],
            severity="warning",
        )
    findings.raise_if_any()
