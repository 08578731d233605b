"""Debug surface (DBG-01 to DBG-03): a runtime log switch and a profiler, both guarded.

The switch is judged by what the target writes: debug entries must appear while it is
on and only then. The request each observation rests on carries a ``traceparent`` whose
trace id the suite chose, so its log lines can be told from everything else.
"""

from __future__ import annotations

from typing import Final

import pytest

from conformance.calls import Caller
from conformance.errors import CheckFailed
from conformance.evidence import Evidence
from conformance.findings import Findings
from conformance.logs.entries import LogEntry
from conformance.logs.streams import LogStream, wait_for
from conformance.probe import ProbeResponse
from conformance.profile import DebugSection, Profile, RequestSpec
from conformance.spec import check
from conformance.tracecontext import TraceParent

DEBUG: Final = "reference_service/debug.py"
QUOTED_LINES: Final = 5


def switch_request(debug: DebugSection, state: str, auth: bool = True) -> RequestSpec:
    separator = "&" if "?" in debug.switch_path else "?"
    path = f"{debug.switch_path}{separator}{debug.switch_param}={state}"
    return RequestSpec(path=path, auth=debug.auth if auth else None)


def observe(
    stream: LogStream, caller: Caller, spec: RequestSpec, timeout_s: float
) -> list[LogEntry]:
    """The entries written while one traced request of ``spec`` was served.

    Only entries carrying the request's trace id count: a line of another request (the
    switch's own, say) read a moment late must not land in the wrong window.
    """
    parent = TraceParent.new()
    mark = stream.mark()
    caller.call(spec, headers=[("traceparent", parent.header)])

    def ours(entry: LogEntry) -> bool:
        return parent.trace_id in entry.text

    return [e for e in wait_for(stream, mark, ours, timeout_s) if ours(e)]


@check(
    "DBG-01",
    category="debug",
    title="Debug logs switch on and off at runtime, without a restart",
    pattern="Turning debug logs on for a while, on a running service, explains a problem "
    "in production without the noise or cost of debug logs all the time.",
    remediation="Serve GET /debug?debug-logs=on|off (behind credentials) that changes the "
    'root log level in place and answers {"debug-logs": "on"} or "off".',
    reference=DEBUG,
)
def test_debug_logs_switch_at_runtime(
    log_stream: LogStream,
    caller: Caller,
    probe_request: RequestSpec,
    profile: Profile,
    evidence: Evidence,
) -> None:
    debug, wait_s = profile.debug, profile.logs.settle_s * 3
    findings = Findings()
    before = observe(log_stream, caller, probe_request, wait_s)
    answer = caller.call(switch_request(debug, "on"))
    try:
        if not answer.status < 300:
            label = switch_request(debug, "on").label
            msg = f"{label} answered {answer.status}: there is no runtime log switch"
            raise CheckFailed(msg, expected="2xx", observed=answer.status)
        _judge_answer(answer, "on", findings)
        during = observe(log_stream, caller, probe_request, wait_s)
    finally:
        off = caller.call(switch_request(debug, "off"))
    _judge_answer(off, "off", findings)
    after = observe(log_stream, caller, probe_request, wait_s)

    for label, entries, wanted in (
        ("before switching on", before, False),
        ("while on", during, True),
        ("after switching off", after, False),
    ):
        debugs = [e.text for e in entries if e.is_debug]
        evidence.note(
            f"{label}: {len(entries)} lines",
            "\n".join(e.text for e in entries[:QUOTED_LINES]),
            kind="log",
        )
        if bool(debugs) != wanted:
            findings.add(
                f"{len(debugs)} debug entries {label}",
                expected="debug entries" if wanted else "none",
                observed=debugs[:QUOTED_LINES] or "none",
            )
    findings.raise_if_any()


def _judge_answer(answer: ProbeResponse, state: str, findings: Findings) -> None:
    body = answer.json()
    if isinstance(body, dict) and "debug-logs" in body and body["debug-logs"] != state:
        findings.add(
            f"switching {state} answered debug-logs {body['debug-logs']!r}",
            expected=state,
            observed=body["debug-logs"],
        )


@check(
    "DBG-02",
    category="debug",
    title="A profiling endpoint exists on the debug surface",
    pattern="A CPU profile taken from the running service shows where its time goes "
    "(the guide mounts Go's pprof under /debug/pprof/).",
    remediation="Offer a bounded CPU profile on the debug surface (the reference answers "
    "cProfile's report at /debug/pprof/profile?seconds=N) and name it in the profile.",
    reference=DEBUG,
)
def test_profiling_endpoint_exists(
    caller: Caller, profile: Profile, evidence: Evidence
) -> None:
    debug = profile.debug
    spec = RequestSpec(path=debug.profile_path, auth=debug.auth)
    answer = caller.call(spec)
    evidence.note("profile", f"{len(answer.body)} bytes of {answer.content_type}")
    if answer.status in (401, 403) and debug.auth is None:
        pytest.skip(
            f"{spec.label} asks for credentials: name the scheme that opens the debug "
            "surface in the profile's debug.auth"
        )
    if answer.status != 200 or not answer.body:
        msg = (
            f"{spec.label} answered {answer.status} with {len(answer.body)} bytes: no "
            "profiling endpoint (name yours in the profile's debug.profile_path)"
        )
        raise CheckFailed(msg, expected="200 with a profile", observed=answer.status)


@check(
    "DBG-03",
    category="debug",
    title="Debug and profiling endpoints refuse callers without credentials",
    pattern="A public log switch or profiler lets anyone flood the logs, slow the "
    "service or read its internals.",
    remediation="Put the debug surface behind credentials (the reference uses Basic) or "
    "on a separate admin address that is not published.",
    reference=DEBUG,
)
def test_debug_surface_needs_credentials(
    caller: Caller, profile: Profile, evidence: Evidence
) -> None:
    debug = profile.debug
    findings = Findings()
    for spec in (
        switch_request(debug, "on", auth=False),
        RequestSpec(path=debug.profile_path),
    ):
        answer = caller.call(spec)
        evidence.note(spec.label, answer.status)
        if answer.status < 400:
            findings.add(
                f"{spec.label} answered {answer.status} without credentials",
                expected="401, 403 or 404",
                observed=answer.status,
            )
    if findings and debug.auth:
        caller.call(switch_request(debug, "off"))
    findings.raise_if_any()
