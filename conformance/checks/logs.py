"""Structured logs (LOG-01 to LOG-07), judged on one recorded session.

The session (``conformance.logs.session``) runs in the background from the start of the
run: an instance of the target of its own, traced requests, rejected credentials and
canary secrets, every line from start-up to exit. LOG-06 starts another instance under
a pseudo-terminal (``conformance.logs.terminal``).
"""

from __future__ import annotations

from typing import Final

import pytest

from conformance.background import probes_of, scenario
from conformance.errors import CheckFailed
from conformance.evidence import Evidence
from conformance.findings import Findings
from conformance.logs import judge
from conformance.logs.entries import (
    LEVEL,
    MESSAGE,
    TIME,
    is_error,
    parse_line,
)
from conformance.logs.plan import FAILING, REJECTED
from conformance.logs.session import LogSession, Sent, run_session, session_bound
from conformance.logs.terminal import TerminalRun, run_under_terminal, terminal_bound
from conformance.redaction import Redactor
from conformance.runtime import Runtime
from conformance.spec import check
from conformance.telemetry import TelemetryStore

LOG_CONFIG: Final = "reference_service/log_config.py"
ACCESS_LOG: Final = "reference_service/middleware.py"
SHOWN: Final = 5


@scenario(
    "logs:session",
    checks=["LOG-01", "LOG-02", "LOG-03", "LOG-04", "LOG-05", "LOG-07"],
    bound=session_bound,
)
def _session(runtime: Runtime) -> LogSession:
    return run_session(runtime)


@scenario("logs:terminal", checks=["LOG-06"], bound=terminal_bound)
def _terminal(runtime: Runtime) -> TerminalRun:
    return run_under_terminal(runtime)


def _recorded(
    request: pytest.FixtureRequest, evidence: Evidence, sent: list[Sent] | None = None
) -> LogSession:
    session: LogSession = probes_of(request.config).result("logs:session")
    evidence.note("log source", session.source)
    for item in session.sent if sent is None else sent:
        evidence.exchanges.extend(item.exchanges)
    return session


def _answered(session: LogSession) -> list[Sent]:
    return [s for s in session.sent if s.status is not None]


@check(
    "LOG-01",
    category="logs",
    title="Off a terminal, every line is a JSON object with time, level and message",
    pattern="Log shippers parse one JSON object per line; a plain line from a banner or "
    "a second handler arrives as an unparsed blob or breaks the stream.",
    remediation="Route every logger (the server's own included) through one handler "
    "with a JSON formatter when stdout is not a terminal, and disable the server's own "
    "access log.",
    reference=LOG_CONFIG,
)
def test_every_line_is_structured(
    request: pytest.FixtureRequest, evidence: Evidence, redactor: Redactor
) -> None:
    session = _recorded(request, evidence, sent=[])
    if session.source.startswith("the OTLP"):
        pytest.skip(
            "judges the lines the target writes; OTLP records are not lines: launch it "
            "with --target-cmd or name its log file with --target-log-file PATH"
        )
    plain = [e for e in session.lines if not e.structured]
    incomplete = [
        e
        for e in session.lines
        if e.structured and None in (e.get(TIME), e.get(LEVEL), e.get(MESSAGE))
    ]
    evidence.note("lines", f"{len(session.lines)} lines, exit code {session.exit_code}")
    findings = Findings()
    if plain:
        findings.add(
            f"{len(plain)} of {len(session.lines)} lines are not JSON objects",
            expected="one JSON object per line",
            observed=redactor.text(judge.quote(plain)),
        )
    if incomplete:
        findings.add(
            f"{len(incomplete)} JSON lines lack a timestamp, a level or a message",
            expected=f"one of {TIME[:3]}, {LEVEL[:3]} and {MESSAGE[:3]}",
            observed=redactor.text(judge.quote(incomplete)),
        )
    findings.raise_if_any()


@check(
    "LOG-02",
    category="logs",
    title="Each request is logged once with method, path, status and duration",
    pattern="One access line per request, with its outcome and time, is the first thing "
    "read in an incident; two lines double counts, none leaves a blind spot.",
    remediation="Log one line per request from a middleware with http.method, "
    "http.path, http.status and http.time_ms, and turn the server's own access log off.",
    reference=ACCESS_LOG,
)
def test_each_request_is_logged_once(
    request: pytest.FixtureRequest, evidence: Evidence, redactor: Redactor
) -> None:
    session = _recorded(request, evidence)
    findings = Findings()
    for sent in _answered(session):
        lines = judge.access_lines(sent, session.exclusive)
        shown = redactor.text(judge.quote(lines or sent.window))
        label = f"{redactor.url(sent.label)} ({sent.status})"
        evidence.note(f"access lines of {label}", shown, kind="log")
        if not lines:
            findings.add(
                f"{label} was not logged with its method, path and status",
                expected="one access line",
                observed=shown,
            )
        elif len(lines) > 1:
            findings.add(
                f"{label} was logged {len(lines)} times",
                expected="one access line",
                observed=shown,
            )
        elif not judge.has_duration(lines[0]):
            findings.add(
                f"the access line of {label} has no duration",
                expected="http.time_ms, duration_ms or another duration field",
                observed=shown,
            )
    findings.raise_if_any()


@check(
    "LOG-03",
    category="logs",
    title="Entries written while serving a traced request carry its trace and span id",
    pattern="Trace and span ids on every line lead from a log line to its trace and "
    "back, the error traceback included.",
    remediation="Add the current span's trace_id and span_id to every record in the "
    "log handler (a filter), so lines from every logger get them.",
    reference=LOG_CONFIG,
)
def test_entries_carry_trace_context(
    request: pytest.FixtureRequest,
    evidence: Evidence,
    redactor: Redactor,
    telemetry: TelemetryStore,
) -> None:
    session = _recorded(request, evidence)
    findings = Findings()
    judged = 0
    for sent in _answered(session):
        spans = {s.span_id for s in telemetry.spans(trace_id=sent.trace_id)}
        for entry in judge.belonging(sent, session.exclusive):
            judged += 1
            problem = judge.trace_problem(entry, sent, spans)
            if problem:
                findings.add(
                    f"an entry of {redactor.url(sent.label)} {problem}",
                    expected=f"trace_id {sent.trace_id} and a span id of its trace",
                    observed=redactor.text(entry.text),
                )
    evidence.note("entries judged", judged)
    if judged == 0:
        msg = "no entries were written while the traced requests were served"
        raise CheckFailed(msg, expected="entries with trace ids", observed="none")
    findings.raise_if_any()


@check(
    "LOG-04",
    category="logs",
    title="A failing request logs an error-level entry with the error and its context",
    pattern="A 5xx without an error entry is a failure nobody can explain; the error "
    "and the request it belonged to make it actionable.",
    remediation="Log unhandled and dependency errors at error level with the exception "
    "(and its traceback) and the request's method, path and trace id.",
    reference="reference_service/errors.py",
)
def test_failures_are_logged_as_errors(
    request: pytest.FixtureRequest, evidence: Evidence, redactor: Redactor
) -> None:
    session = _recorded(request, evidence, sent=[])
    failing = session.of(FAILING)
    if not failing:
        pytest.skip(
            "needs expect.failing_request in the profile: a request that ends in 5xx"
        )
    sent = failing[0]
    evidence.exchanges.extend(sent.exchanges)
    if sent.status is None or sent.status < 500:
        pytest.skip(
            f"the profile's failing request {sent.label} answered "
            f"{sent.status or sent.problem}, not 5xx; make it fail (faults can help)"
        )
    entries = judge.belonging(sent, session.exclusive)
    errors = [e for e in entries if is_error(e)]
    shown = redactor.text(judge.quote(errors or entries))
    evidence.note(f"error entries of {sent.label}", shown, kind="log")
    if not errors:
        msg = f"the {sent.status} answer to {sent.label} logged no error-level entry"
        raise CheckFailed(msg, expected="an error-level entry", observed=shown)
    if not any(judge.error_detail(e) for e in errors):
        msg = f"the error entries of {sent.label} do not say what the error was"
        raise CheckFailed(msg, expected="an error field or a traceback", observed=shown)
    if not any(judge.request_context(e, sent) for e in errors):
        msg = f"the error entries of {sent.label} do not name the request"
        raise CheckFailed(msg, expected="its trace id, method and path", observed=shown)


@check(
    "LOG-05",
    category="logs",
    title="Secrets sent to the target never appear in logs, spans, metrics or answers",
    pattern="Logs, traces and metrics are read by many more people than credentials "
    "are meant for, and kept far longer.",
    remediation="Never log headers, query strings or bodies whole: log the path only, "
    "drop credential fields, and keep them out of span and metric attributes.",
    reference=ACCESS_LOG,
)
def test_secrets_stay_out_of_telemetry(
    request: pytest.FixtureRequest,
    evidence: Evidence,
    redactor: Redactor,
    telemetry: TelemetryStore,
) -> None:
    session = _recorded(request, evidence)
    evidence.note(
        "canaries sent",
        "\n".join(
            f"{s.label} -> {s.status or s.problem}: {', '.join(s.planned.carries)}"
            for s in session.sent
            if s.planned.carries
        ),
    )
    leaks = session.canaries.scan(judge.secret_places(session, telemetry))
    findings = Findings()
    for leak in leaks[:20]:
        findings.add(
            f"{leak.secret} appeared in {leak.where}",
            expected="no secret",
            observed=redactor.text(leak.excerpt[:500]),
        )
    findings.raise_if_any()


@check(
    "LOG-06",
    category="logs",
    title="On a terminal, logs are human-readable, not JSON",
    pattern="People read a terminal; JSON there hides the message in noise, while "
    "machines get JSON everywhere else.",
    remediation="Choose the formatter by whether stdout is a terminal (isatty): plain "
    "single lines there, JSON otherwise.",
    reference=LOG_CONFIG,
)
def test_terminal_logs_are_readable(
    request: pytest.FixtureRequest, evidence: Evidence, redactor: Redactor
) -> None:
    run: TerminalRun = probes_of(request.config).result("logs:terminal")
    evidence.note(
        "under a pseudo-terminal",
        redactor.text("\n".join(run.lines[:10]) or "(nothing)"),
        kind="log",
    )
    evidence.note("exit", "killed" if run.timed_out else f"code {run.exit_code}")
    if not run.lines:
        msg = "the target wrote nothing under a pseudo-terminal"
        raise CheckFailed(msg, expected="human-readable lines", observed="nothing")
    structured = [line for line in run.lines if parse_line(line).structured]
    if structured:
        msg = f"{len(structured)} of {len(run.lines)} lines on a terminal are JSON"
        observed = redactor.text("\n".join(structured[:SHOWN]))
        raise CheckFailed(msg, expected="plain, readable lines", observed=observed)


@check(
    "LOG-07",
    category="logs",
    title="Each rejected credential is logged as an authentication failure",
    pattern="Failed logins are how credential stuffing and broken clients show up; "
    "logging them without the secret keeps the log safe to read.",
    remediation="Log a warning such as 'authentication failed' with the scheme and the "
    "reason when a credential is refused, never the credential itself.",
    reference="reference_service/security.py",
)
def test_rejected_credentials_are_logged(
    request: pytest.FixtureRequest, evidence: Evidence, redactor: Redactor
) -> None:
    session = _recorded(request, evidence, sent=[])
    rejected = [s for s in session.of(REJECTED) if s.status in (401, 403)]
    if not rejected:
        statuses = ", ".join(
            f"{s.planned.scheme}: {s.status or s.problem}" for s in session.of(REJECTED)
        )
        pytest.skip(
            "needs an OpenAPI document declaring security schemes, with operations "
            "that refuse a wrong credential with 401 or 403"
            + (f" (answers: {statuses})" if statuses else "")
        )
    findings = Findings()
    for sent in rejected:
        evidence.exchanges.extend(sent.exchanges)
        entries = judge.belonging(sent, session.exclusive)
        failures = judge.auth_failures(sent, session.exclusive)
        shown = redactor.text(judge.quote(entries))
        evidence.note(f"entries of {sent.label}", shown, kind="log")
        if not failures:
            findings.add(
                f"the wrong {sent.planned.scheme} credential refused with "
                f"{sent.status} was not logged as an authentication failure",
                expected="an entry such as 'authentication failed'",
                observed=shown,
            )
        if any(session.canaries.found_in(e.text) for e in entries):
            findings.add(
                f"the refused {sent.planned.scheme} credential was logged",
                expected="the failure without the secret",
                observed=shown,
            )
    findings.raise_if_any()
