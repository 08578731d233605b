"""A graceful-shutdown drill on an instance of its own (RES-06 to RES-09, HLT-04).

The drill starts an instance, sends a traced request and holds a slow one in flight,
sends SIGTERM and then watches from outside: readiness and liveness over fresh
connections every tenth of a second, the in-flight answer, the exit code and time, and
which spans reached the suite's receiver before the process was gone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Final

import httpx
import pytest

from conformance.calls import Caller
from conformance.errors import ProbeError, UsageError
from conformance.evidence import Evidence
from conformance.launcher import LaunchedTarget
from conformance.probe import HttpProbe
from conformance.profile import RequestSpec
from conformance.runtime import Runtime
from conformance.tracecontext import TraceParent

POLL_S: Final = 0.1
PROBE_TIMEOUT_S: Final = 0.5
IN_FLIGHT_SETTLE_S: Final = 0.4
SPAN_SETTLE_S: Final = 1.0


def slack_s(expected_s: float) -> float:
    return 1.0 + 0.1 * expected_s


@dataclass
class Answer:
    """How one request the drill sent ended, timed from the signal."""

    label: str
    status: int | None = None
    error: str | None = None
    ended_after_signal_s: float | None = None
    trace_id: str = ""

    def describe(self) -> str:
        outcome = str(self.status) if self.status is not None else self.error
        when = self.ended_after_signal_s
        timing = f" at {when:+.2f} s from SIGTERM" if when is not None else ""
        return f"{self.label} -> {outcome}{timing}"


@dataclass
class Poll:
    """Readiness and liveness as seen on fresh connections at one moment."""

    after_s: float
    readiness: str
    liveness: str


@dataclass
class DrillResult:
    grace_s: float
    exit_code: int | None = None
    exit_after_s: float | None = None
    killed: bool = False
    tracing: bool = False
    answers: list[Answer] = field(default_factory=list)
    polls: list[Poll] = field(default_factory=list)
    spans: dict[str, int] = field(default_factory=dict)
    evidence: Evidence = field(default_factory=Evidence)

    def timeline(self) -> str:
        return "\n".join(
            f"{p.after_s:+.2f} s readiness {p.readiness}, liveness {p.liveness}"
            for p in self.polls
        )


def drill_bound(runtime: Runtime) -> float:
    profile = runtime.settings.profile
    grace = profile.expect.shutdown_grace_s
    return (
        profile.target.startup_timeout_s
        + profile.tracing.flush_window_s
        + grace
        + slack_s(grace)
        + 10.0
    )


def require_launcher(runtime: Runtime) -> None:
    if runtime.launcher is None:
        pytest.skip(
            "needs a launch command to start an instance of its own: pass --target-cmd "
            "or set target.command"
        )


def run_drill(runtime: Runtime, held: RequestSpec | None) -> DrillResult:
    """Start an instance, hold ``held`` in flight, SIGTERM it, watch it go."""
    require_launcher(runtime)
    assert runtime.launcher is not None
    profile = runtime.settings.profile
    result = DrillResult(grace_s=profile.expect.shutdown_grace_s)
    instance = runtime.launcher.start()
    try:
        caller = _caller(runtime, instance, result)
        result.tracing = _warm_up(runtime, caller)
        before = _send(caller, _quick_request(runtime), result, None)
        threads = []
        signalled: list[float] = []
        if held is not None:
            answer = Answer(held.label)
            result.answers.append(answer)
            thread = threading.Thread(
                target=_hold, args=(caller, held, answer, signalled), daemon=True
            )
            thread.start()
            threads.append(thread)
            time.sleep(IN_FLIGHT_SETTLE_S)

        signalled.append(time.monotonic())
        instance.send_signal()
        _watch(runtime, instance, result, signalled[0])
        for thread in threads:
            thread.join(timeout=max(0.1, result.grace_s + slack_s(result.grace_s)))
        _finish(instance, result, signalled[0])
        if before is not None:
            result.answers.insert(0, before)
        _count_spans(runtime, result)
    finally:
        if instance.running:
            instance.stop(grace_s=1.0)
    result.evidence.note(
        "target output (tail)", runtime.redactor.text(instance.output.tail(15))
    )
    return result


def run_stream_drill(runtime: Runtime, stream: RequestSpec) -> DrillResult:
    """Start an instance, open ``stream``, SIGTERM it while the stream is open."""
    require_launcher(runtime)
    assert runtime.launcher is not None
    result = DrillResult(grace_s=runtime.settings.profile.expect.shutdown_grace_s)
    instance = runtime.launcher.start()
    try:
        caller = _caller(runtime, instance, result)
        answer = Answer(stream.label)
        result.answers.append(answer)
        signalled: list[float] = []
        thread = threading.Thread(
            target=_hold, args=(caller, stream, answer, signalled), daemon=True
        )
        thread.start()
        time.sleep(IN_FLIGHT_SETTLE_S)
        signalled.append(time.monotonic())
        instance.send_signal()
        thread.join(timeout=result.grace_s + slack_s(result.grace_s))
        _finish(instance, result, signalled[0])
        thread.join(timeout=2.0)
    finally:
        if instance.running:
            instance.stop(grace_s=1.0)
    return result


def _caller(runtime: Runtime, instance: LaunchedTarget, result: DrillResult) -> Caller:
    grace = result.grace_s
    http = HttpProbe(
        client=httpx.Client(headers={"user-agent": "conformance-suite/0.1"}),
        base_url=instance.base_url,
        redactor=runtime.redactor,
        evidence=result.evidence,
        timeout_s=grace + slack_s(grace) + 5.0,
    )
    try:
        model = runtime.security_model
    except UsageError:
        model = None
    return Caller(http, runtime.settings, model, runtime.stubs)


def _quick_request(runtime: Runtime) -> RequestSpec:
    health = runtime.settings.profile.health
    return RequestSpec(path=health.liveness_path or health.path)


def _warm_up(runtime: Runtime, caller: Caller) -> bool:
    """Whether the instance exports spans at all: one traced request, one wait."""
    parent = TraceParent.new()
    try:
        caller.call(_quick_request(runtime), headers=[("traceparent", parent.header)])
    except ProbeError:
        return False
    window = runtime.settings.profile.tracing.flush_window_s
    return bool(
        runtime.telemetry.wait_for_trace(parent.trace_id, timeout_s=window).items
    )


def _send(
    caller: Caller, spec: RequestSpec, result: DrillResult, signalled: float | None
) -> Answer:
    answer = Answer(spec.label + " (before SIGTERM)")
    _hold(caller, spec, answer, [] if signalled is None else [signalled])
    return answer


def _hold(
    caller: Caller, spec: RequestSpec, answer: Answer, signalled: list[float]
) -> None:
    parent = TraceParent.new()
    answer.trace_id = parent.trace_id
    try:
        answer.status = caller.call(
            spec, headers=[("traceparent", parent.header)]
        ).status
    except ProbeError as exc:
        answer.error = str(exc)
    except BaseException as exc:  # a skip or a bug must not vanish in this thread
        answer.error = f"{type(exc).__name__}: {exc}"
    if signalled:
        answer.ended_after_signal_s = time.monotonic() - signalled[0]


def _watch(
    runtime: Runtime, instance: LaunchedTarget, result: DrillResult, signalled: float
) -> None:
    health = runtime.settings.profile.health
    deadline = signalled + result.grace_s + slack_s(result.grace_s)
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(timeout=PROBE_TIMEOUT_S, limits=limits) as client:
        while time.monotonic() < deadline:
            if not instance.running:
                result.exit_after_s = time.monotonic() - signalled
                return
            readiness = _status(client, instance.base_url, health.readiness_path)
            liveness = _status(client, instance.base_url, health.liveness_path)
            result.polls.append(Poll(time.monotonic() - signalled, readiness, liveness))
            time.sleep(POLL_S)


def _status(client: httpx.Client, base_url: str, path: str | None) -> str:
    if path is None:
        return "not declared"
    try:
        return str(client.get(base_url + path).status_code)
    except httpx.ConnectError:
        return "refused"
    except httpx.HTTPError as exc:
        return type(exc).__name__


def _finish(instance: LaunchedTarget, result: DrillResult, signalled: float) -> None:
    remaining = signalled + result.grace_s + slack_s(result.grace_s) - time.monotonic()
    code = instance.wait_exit(max(0.0, remaining))
    if code is None:
        result.killed = True
        instance.stop(grace_s=0.5)
        return
    result.exit_code = code
    if result.exit_after_s is None:
        result.exit_after_s = time.monotonic() - signalled


def _count_spans(runtime: Runtime, result: DrillResult) -> None:
    time.sleep(SPAN_SETTLE_S)
    for answer in result.answers:
        if answer.trace_id:
            spans = runtime.telemetry.spans(trace_id=answer.trace_id)
            result.spans[answer.label] = len(spans)
            result.evidence.add_spans(spans)
