"""Graceful shutdown (RES-06 to RES-09) and readiness apart from liveness (HLT-04).

Each drill runs on an instance of its own, in the background from the start of the
session; see ``conformance.shutdown_drill`` for what it does and observes.
"""

from __future__ import annotations

from typing import Final

import pytest

from conformance.background import probes_of, scenario
from conformance.errors import CheckFailed
from conformance.evidence import Evidence
from conformance.findings import Findings
from conformance.profile import Profile
from conformance.runtime import Runtime
from conformance.shutdown_drill import (
    DrillResult,
    drill_bound,
    run_drill,
    run_stream_drill,
    slack_s,
)
from conformance.spec import check

SERVER: Final = "reference_service/server.py"
LIFESPAN: Final = "reference_service/app.py"


@scenario(
    "shutdown:drain", checks=["RES-06", "RES-07", "RES-08", "HLT-04"], bound=drill_bound
)
def _drain(runtime: Runtime) -> DrillResult:
    return run_drill(runtime, runtime.settings.profile.expect.slow_request)


@scenario("shutdown:stream", checks=["RES-09"], bound=drill_bound)
def _stream(runtime: Runtime) -> DrillResult:
    expect = runtime.settings.profile.expect
    stream = expect.shutdown_stream_request or expect.stream_request
    if stream is None:
        pytest.skip(
            "needs expect.shutdown_stream_request (or expect.stream_request): a "
            "streamed request that stays open longer than the grace period"
        )
    return run_stream_drill(runtime, stream)


def _drill(
    request: pytest.FixtureRequest, name: str, evidence: Evidence
) -> DrillResult:
    result: DrillResult = probes_of(request.config).result(name)
    evidence.exchanges.extend(result.evidence.exchanges)
    evidence.observations.extend(result.evidence.observations)
    evidence.spans.extend(result.evidence.spans)
    evidence.note("answers", "\n".join(a.describe() for a in result.answers))
    if result.polls:
        evidence.note("after SIGTERM", result.timeline())
    exit_text = (
        "still running at the end of the grace period; killed"
        if result.killed
        else f"exit code {result.exit_code} after {result.exit_after_s or 0:.2f} s"
    )
    evidence.note("exit", exit_text)
    return result


def _held(result: DrillResult, profile: Profile) -> None:
    if profile.expect.slow_request is None:
        pytest.skip(
            "needs expect.slow_request in the profile: a request that takes at least "
            "1 s, held in flight while SIGTERM arrives"
        )
    held = result.answers[-1]
    if held.status is not None and (held.ended_after_signal_s or 0) <= 0:
        pytest.skip(
            f"expect.slow_request ({held.label}) answered before SIGTERM was sent; make "
            "it take at least 1 s"
        )


@check(
    "RES-06",
    category="resilience",
    title="Requests in flight when SIGTERM arrives complete successfully",
    pattern="A graceful shutdown lets requests already being served finish, so a "
    "deployment does not fail users' calls.",
    remediation="On SIGTERM stop accepting new connections but wait (up to the grace "
    "period) for requests in flight, as Go's Server.Shutdown does.",
    reference=SERVER,
)
def test_in_flight_requests_complete(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    result = _drill(request, "shutdown:drain", evidence)
    _held(result, profile)
    held = result.answers[-1]
    if held.status is None or held.status >= 500:
        msg = f"the request in flight at SIGTERM failed: {held.describe()}"
        raise CheckFailed(msg, expected="a complete non-5xx answer", observed=msg)


@check(
    "RES-07",
    category="resilience",
    title="On SIGTERM the target turns unready, stops listening and exits 0 in time",
    pattern="Readiness goes first so load balancers stop sending work, then the "
    "listener closes, and the process exits cleanly within the grace period.",
    remediation="On SIGTERM mark readiness 503 at once, keep serving briefly while load "
    "balancers notice, then shut the server down within the grace period and exit 0.",
    reference=SERVER,
)
def test_shutdown_is_orderly_and_timely(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    result = _drill(request, "shutdown:drain", evidence)
    grace = profile.expect.shutdown_grace_s
    findings = Findings()
    if result.killed:
        findings.add(
            f"the target was still running {grace + slack_s(grace):.1f} s after SIGTERM",
            expected=f"exit within {grace:g} s",
            observed="still running; killed",
        )
    elif result.exit_code != 0:
        findings.add(
            f"the target exited with code {result.exit_code} after SIGTERM",
            expected=0,
            observed=result.exit_code,
        )
    readiness = [p.readiness for p in result.polls]
    if "200" in readiness:
        late = next(p for p in result.polls if p.readiness == "200")
        findings.add(
            f"readiness still answered 200 {late.after_s:.2f} s after SIGTERM",
            expected="503 from the signal on",
            observed=result.timeline(),
        )
    elif profile.health.readiness_path and "503" not in readiness:
        findings.add(
            "readiness never answered 503: the listener closed at once, so load "
            "balancers learn of the shutdown only from refused connections",
            expected="readiness 503, then the listener closes",
            observed=result.timeline() or "no poll answered",
            severity="warning",
        )
    findings.raise_if_any()


@check(
    "RES-08",
    category="resilience",
    title="On SIGTERM telemetry is flushed before exit",
    pattern="Spans of the last requests, the in-flight ones included, are the ones "
    "needed to understand a deployment; they must not die with the process.",
    remediation="Shut the tracer and meter providers down (which flushes them) after "
    "the server has stopped, at the end of the lifespan, with a bounded timeout.",
    reference=LIFESPAN,
)
def test_telemetry_is_flushed_on_shutdown(
    request: pytest.FixtureRequest, evidence: Evidence
) -> None:
    result = _drill(request, "shutdown:drain", evidence)
    if not result.tracing:
        pytest.skip(
            "needs the target to export spans to the suite's receiver (the OTEL_* "
            "variables the launcher sets); a traced request produced none"
        )
    evidence.note("spans by request", result.spans)
    missing = [label for label, count in result.spans.items() if count == 0]
    if missing:
        msg = f"no span reached the receiver before exit for {', '.join(missing)}"
        raise CheckFailed(msg, expected="spans of every request", observed=result.spans)


@check(
    "RES-09",
    category="resilience",
    title="Open streams do not hold shutdown past the grace period",
    pattern="A long-lived response must be told to end (or be cut) when the service "
    "stops, or one client can keep a deployment waiting indefinitely.",
    remediation="End streams when shutdown begins, and bound the server's graceful "
    "wait so it cancels what is left at the grace period.",
    reference="reference_service/api/routes/orders.py",
)
def test_open_streams_do_not_block_shutdown(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    result = _drill(request, "shutdown:stream", evidence)
    grace = profile.expect.shutdown_grace_s
    stream = result.answers[0]
    if stream.status is not None and (stream.ended_after_signal_s or 0) <= 0:
        pytest.skip(
            f"the stream {stream.label} ended before SIGTERM; give "
            "expect.shutdown_stream_request a stream that stays open longer"
        )
    if result.killed:
        msg = (
            f"with {stream.label} open, the target still ran {grace:g} s after SIGTERM"
        )
        raise CheckFailed(msg, expected=f"exit within {grace:g} s", observed="killed")
    if result.exit_code != 0:
        msg = f"with a stream open, the target exited with code {result.exit_code}"
        raise CheckFailed(msg, expected=0, observed=result.exit_code)
    if stream.status is None:
        msg = f"the open stream was cut off rather than ended: {stream.describe()}"
        raise CheckFailed(
            msg, expected="the stream ends cleanly", observed=msg, severity="warning"
        )


@check(
    "HLT-04",
    category="health",
    title="During shutdown readiness answers 503 while liveness answers 200",
    pattern="Readiness and liveness mean different things: a draining instance must "
    "leave load balancing without being restarted by its liveness probe.",
    remediation="Serve separate readiness and liveness endpoints; flip readiness to "
    "503 as the first step of shutdown and keep liveness 200 until exit.",
    reference="reference_service/health.py",
)
def test_readiness_fails_before_liveness(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    health = profile.health
    if not (health.readiness_path and health.liveness_path):
        pytest.skip(
            "needs both health.readiness_path and health.liveness_path in the profile"
        )
    result = _drill(request, "shutdown:drain", evidence)
    apart = [p for p in result.polls if p.readiness == "503" and p.liveness == "200"]
    if not apart:
        msg = (
            f"no moment of the shutdown had {health.readiness_path} 503 while "
            f"{health.liveness_path} answered 200"
        )
        raise CheckFailed(
            msg,
            expected="readiness 503 and liveness 200",
            observed=result.timeline() or "the listener closed at once",
        )
