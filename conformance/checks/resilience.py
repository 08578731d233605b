"""Server timeouts and slow clients (RES-01 to RES-05), probed over raw sockets.

Each probe runs in the background from the start of the session (see
``conformance.background``); the checks here collect and judge the results.
"""

from __future__ import annotations

import time
from typing import Final

import httpx
import pytest

from conformance.background import BackgroundProbes, probes_of, scenario
from conformance.deadline import bounded_client
from conformance.errors import CheckFailed, ProbeError
from conformance.evidence import Evidence
from conformance.findings import Findings
from conformance.profile import Profile
from conformance.runtime import Runtime
from conformance.slowclient import (
    Address,
    SlowCrowd,
    SlowResult,
    idle_keepalive,
    large_headers,
    silent,
    stalled_body,
    trickle_headers,
)
from conformance.spec import check

SERVER: Final = "reference_service/server.py"
CROWD_SIZE: Final = 64
PROMPT_S: Final = 2.0
CUT_OFF: Final = ("closed", "reset")


def slack_s(expected_s: float) -> float:
    """Scheduling allowance on top of an expected timeout."""
    return 1.0 + 0.1 * expected_s


def _expect(runtime: Runtime) -> Profile:
    return runtime.settings.profile


def _header_bound(runtime: Runtime) -> float:
    expected = _expect(runtime).expect.header_timeout_s
    return expected + slack_s(expected)


def _read_bound(runtime: Runtime) -> float:
    expected = _expect(runtime).expect.read_timeout_s
    return expected + slack_s(expected)


def _idle_bound(runtime: Runtime) -> float:
    expected = _expect(runtime).expect.idle_timeout_s
    return expected + slack_s(expected)


def _address(runtime: Runtime) -> Address:
    return Address.of(runtime.base_url)


@scenario("res01:trickle", checks=["RES-01"], bound=_header_bound)
def _trickle(runtime: Runtime) -> SlowResult:
    interval = min(max(_expect(runtime).expect.header_timeout_s / 4, 0.2), 2.0)
    path = _expect(runtime).health.path
    return trickle_headers(_address(runtime), path, interval, _header_bound(runtime))


@scenario("res01:silent", checks=["RES-01"], bound=_header_bound)
def _silent(runtime: Runtime) -> SlowResult:
    return silent(_address(runtime), _header_bound(runtime))


@scenario("res02:body", checks=["RES-02"], bound=_read_bound)
def _stalled(runtime: Runtime) -> SlowResult:
    method, path = _body_request(_expect(runtime))
    return stalled_body(_address(runtime), method, path, _read_bound(runtime))


@scenario("res03:idle", checks=["RES-03"], bound=_idle_bound)
def _idle(runtime: Runtime) -> SlowResult:
    path = _expect(runtime).health.path
    return idle_keepalive(_address(runtime), path, _idle_bound(runtime))


@scenario("res04:headers", checks=["RES-04"], bound=lambda r: 2 * _header_bound(r))
def _headers(runtime: Runtime) -> tuple[SlowResult, SlowResult]:
    limit = _expect(runtime).expect.max_header_bytes
    path = _expect(runtime).health.path
    bound = _header_bound(runtime)
    over = large_headers(_address(runtime), path, limit + 65_536, bound)
    under = large_headers(_address(runtime), path, limit // 8, bound)
    return over, under


@scenario("res05:crowd", checks=["RES-05"], bound=lambda r: 2 * PROMPT_S + 5.0)
def _crowd(runtime: Runtime) -> tuple[int, float, str]:
    """Hold slow connections, then time one normal request among them."""
    health = _expect(runtime).health
    path = health.liveness_path or health.path
    with SlowCrowd(_address(runtime), CROWD_SIZE, path) as crowd:
        time.sleep(0.2)
        held = crowd.nudge()
        started = time.monotonic()
        try:
            with bounded_client(timeout=PROMPT_S + 3.0) as client:
                answer = str(client.get(runtime.base_url + path).status_code)
        except httpx.HTTPError as exc:
            answer = f"{type(exc).__name__}: {exc}"
        return held, time.monotonic() - started, answer


@scenario(
    "res:control",
    checks=["RES-01", "RES-02", "RES-03", "RES-04"],
    bound=lambda r: r.request_timeout_s,
)
def _control(runtime: Runtime) -> str | None:
    """What is wrong with a plain GET of the health path, or None when it is answered."""
    path = _expect(runtime).health.path
    try:
        with runtime.client.stream(
            "GET", runtime.base_url + path, timeout=runtime.request_timeout_s
        ) as response:
            response.read()
    except httpx.HTTPError as exc:
        return f"a plain GET {path} got no valid HTTP answer ({type(exc).__name__})"
    return None


def _body_request(profile: Profile) -> tuple[str, str]:
    """A request with a body the target reads: the first POST the profile names."""
    candidates = [profile.expect.failing_request, profile.tracing.probe]
    candidates += [d.trigger for d in profile.dependencies]
    candidates += [s.request for s in profile.spans]
    for spec in candidates:
        if spec is not None and spec.method.upper() in ("POST", "PUT", "PATCH"):
            return spec.method.upper(), spec.path
    return "POST", profile.health.path


def _collect(request: pytest.FixtureRequest, name: str, evidence: Evidence) -> object:
    runner: BackgroundProbes = probes_of(request.config)
    found = runner.result(name)
    for result in found if isinstance(found, tuple) else (found,):
        if isinstance(result, SlowResult):
            evidence.note(result.scenario, result.describe())
            if result.outcome == "refused":
                msg = (
                    f"{result.scenario}: could not connect ({'; '.join(result.notes)})"
                )
                raise ProbeError(msg)
            if result.outcome in CUT_OFF and (problem := runner.result("res:control")):
                # A target that drops every connection cuts slow clients off too, which
                # says nothing about its timeouts.
                msg = f"{result.scenario}: {result.outcome}, but {problem}"
                raise ProbeError(msg)
    return found


def _judge_cut_off(result: SlowResult, expected_s: float, what: str) -> None:
    bound = expected_s + slack_s(expected_s)
    timed_out = result.status == 408 or result.outcome in CUT_OFF
    if not timed_out or result.elapsed_s > bound:
        msg = (
            f"{result.scenario}: the connection was still {result.outcome} after "
            f"{result.elapsed_s:.1f} s; the {what} ({expected_s:g} s expected) is "
            "missing or longer"
        )
        raise CheckFailed(
            msg, expected=f"closed within {bound:.1f} s", observed=result.describe()
        )


@check(
    "RES-01",
    category="resilience",
    title="Connections that send headers slowly or not at all are closed in time",
    pattern="A header read timeout (Go's ReadHeaderTimeout, 10 s in the guide) stops "
    "slow-loris clients from holding connections open for free.",
    remediation="Set a header read timeout on the server; the reference adds one to "
    "uvicorn from READ_HEADER_TIMEOUT.",
    reference=SERVER,
)
def test_slow_headers_are_cut_off(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    expected = profile.expect.header_timeout_s
    for name in ("res01:trickle", "res01:silent"):
        result = _collect(request, name, evidence)
        assert isinstance(result, SlowResult)
        _judge_cut_off(result, expected, "header read timeout")


@check(
    "RES-02",
    category="resilience",
    title="A request body that stalls is cut off within the read timeout",
    pattern="A read timeout (Go's ReadTimeout, 30 s in the guide) bounds how long one "
    "request may take to arrive, so stalled uploads do not pin connections.",
    remediation="Set a read timeout covering the whole request; the reference's comes "
    "from READ_TIMEOUT.",
    reference=SERVER,
)
def test_stalled_body_is_cut_off(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    result = _collect(request, "res02:body", evidence)
    assert isinstance(result, SlowResult)
    _judge_cut_off(result, profile.expect.read_timeout_s, "read timeout")


@check(
    "RES-03",
    category="resilience",
    title="Idle keep-alive connections are closed within the idle timeout",
    pattern="An idle timeout (120 s in the guide) frees connections clients forgot, "
    "while keeping reuse possible for a while.",
    remediation="Set the server's keep-alive/idle timeout; the reference's comes from "
    "IDLE_TIMEOUT.",
    reference=SERVER,
)
def test_idle_connections_are_closed(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    result = _collect(request, "res03:idle", evidence)
    assert isinstance(result, SlowResult)
    expected = profile.expect.idle_timeout_s
    if result.notes:
        msg = f"{result.scenario}: {'; '.join(result.notes)}"
        raise CheckFailed(msg, expected="a complete keep-alive answer", observed=msg)
    _judge_cut_off(result, expected, "idle timeout")

    minimum = profile.expect.min_idle_timeout_s
    minimum = expected / 2 if minimum is None else minimum
    if result.elapsed_s < minimum:
        msg = (
            f"the idle connection was closed after {result.elapsed_s:.1f} s, sooner "
            f"than {minimum:g} s: clients reconnect more than they need to"
        )
        raise CheckFailed(
            msg,
            expected=f">= {minimum:g} s",
            observed=f"{result.elapsed_s:.1f} s",
            severity="warning",
        )


@check(
    "RES-04",
    category="resilience",
    title="Headers over the limit are refused with 431; headers under it are served",
    pattern="A header size limit (1 MiB in the guide) bounds the memory one request "
    "can take, and answers clearly instead of hanging.",
    remediation="Set the server's maximum header size; the reference gives uvicorn's "
    "h11 parser 1 MiB.",
    reference=SERVER,
)
def test_header_size_is_limited(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    found = _collect(request, "res04:headers", evidence)
    assert isinstance(found, tuple)
    over, under = found
    findings = Findings()
    if over.status in (431, 400):
        if over.status == 400:
            evidence.note("over the limit", "400 (accepted; RFC 6585 names 431)")
    elif over.status is not None and over.status != 0:
        findings.add(
            f"{over.scenario} were served with {over.status}, not refused",
            expected="431 (or 400)",
            observed=over.describe(),
        )
    elif over.outcome == "open":
        findings.add(
            f"{over.scenario} got no answer and the connection stayed open: it hangs",
            expected="431 (or 400)",
            observed=over.describe(),
        )
    else:
        findings.add(
            f"{over.scenario} were refused by dropping the connection, not with 431",
            expected="431 (or 400)",
            observed=over.describe(),
            severity="warning",
        )
    if under.status is None or (not 200 <= under.status < 400 and under.status != 503):
        findings.add(
            f"{under.scenario}, well under the {profile.expect.max_header_bytes} byte "
            "limit, were not served",
            expected="served",
            observed=under.describe(),
        )
    findings.raise_if_any()


@check(
    "RES-05",
    category="resilience",
    title="A normal request is served promptly while slow clients hold connections",
    pattern="Slow clients must not exhaust workers or connection slots: the server "
    "keeps serving everyone else.",
    remediation="Serve with an event loop or enough workers, and do not cap concurrent "
    "connections at a level a handful of slow clients reach.",
    reference=SERVER,
)
def test_slow_clients_do_not_starve_others(
    request: pytest.FixtureRequest, profile: Profile, evidence: Evidence
) -> None:
    found = probes_of(request.config).result("res05:crowd")
    held, elapsed, answer = found
    evidence.note("slow connections held", f"{held} of {CROWD_SIZE}")
    path = profile.health.liveness_path or profile.health.path
    evidence.note("normal request", f"GET {path} -> {answer}")
    if held == 0:
        pytest.skip("no slow connection could be held open; nothing was measured")
    if not answer.isdigit() or (int(answer) >= 500 and int(answer) != 503):
        msg = f"with {held} slow connections open, GET {path} got {answer}"
        raise CheckFailed(msg, expected="an answer", observed=answer)
    if answer == "503" or elapsed > PROMPT_S:
        msg = (
            f"with {held} slow connections open, GET {path} answered "
            f"{answer} after {elapsed:.2f} s"
        )
        raise CheckFailed(
            msg, expected=f"served within {PROMPT_S:g} s", observed=f"{elapsed:.2f} s"
        )
