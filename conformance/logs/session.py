"""One scripted visit to the target and every log line it caused (LOG-01 to LOG-05, 07).

With a launch command the suite starts an instance for the logs alone, with its own
dependency stubs, sends the requests of :mod:`conformance.logs.plan` one at a time, and
stops it, so its output runs from start-up to exit and every line written while a
request was served belongs to that request. Without one it visits the running target
and reads the log file the profile names, or the OTLP logs the target exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
import pytest

from conformance.calls import Caller
from conformance.deadline import bounded_client
from conformance.errors import ProbeError, UsageError
from conformance.evidence import Evidence, Exchange
from conformance.launcher import LaunchedTarget
from conformance.logs.canaries import Canaries
from conformance.logs.entries import LogEntry, trace_id_of
from conformance.logs.plan import Planned, plan
from conformance.logs.streams import (
    CaptureStream,
    FileStream,
    LogStream,
    OtlpStream,
    wait_for,
)
from conformance.openapi.security import SecurityModel
from conformance.probe import HttpProbe
from conformance.runtime import Runtime
from conformance.stubs.http_stub import DependencyStub
from conformance.tracecontext import TraceParent
from conformance.traffic import probe_request

SETTLE_AFTER_S: Final = 0.2
NO_SOURCE: Final = (
    "needs the target's logs: launch it with --target-cmd, name the file it writes "
    "with --target-log-file PATH (or logs.file in the profile), or export OTLP logs "
    "to the suite's receiver"
)


@dataclass
class Sent:
    """One request of the session, its answer and the entries written meanwhile."""

    planned: Planned
    parent: TraceParent
    status: int | None = None
    problem: str = ""
    body: bytes = b""
    window: list[LogEntry] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.planned.spec.label

    @property
    def method(self) -> str:
        return self.planned.spec.method.upper()

    @property
    def path(self) -> str:
        return self.planned.spec.path.partition("?")[0]

    @property
    def trace_id(self) -> str:
        return self.parent.trace_id

    def mine(self) -> list[LogEntry]:
        """Entries that carry this request's trace id."""
        return [e for e in self.window if self.trace_id in e.text.lower()]

    def untraced(self) -> list[LogEntry]:
        return [e for e in self.window if not trace_id_of(e)]


@dataclass
class LogSession:
    """What one session sent and every line the chosen source gave."""

    source: str
    exclusive: bool
    complete: bool
    lines: list[LogEntry]
    sent: list[Sent]
    canaries: Canaries
    metrics_text: str = ""
    exit_code: int | None = None
    evidence: Evidence = field(default_factory=Evidence)

    def of(self, purpose: str) -> list[Sent]:
        return [s for s in self.sent if s.planned.purpose == purpose]


def session_bound(runtime: Runtime) -> float:
    profile = runtime.settings.profile
    per_request = profile.target.request_timeout_s + profile.logs.settle_s
    return (
        profile.target.startup_timeout_s
        + 16 * per_request
        + profile.expect.shutdown_grace_s
        + profile.tracing.flush_window_s
        + 10.0
    )


def run_session(runtime: Runtime) -> LogSession:
    """Send the plan, watch the logs, stop the instance; skip without any log source."""
    settings = runtime.settings
    canaries = Canaries(settings, runtime.redactor)
    stubs: dict[str, DependencyStub] = {}
    instance: LaunchedTarget | None = None
    if runtime.launcher is not None:
        stubs = _private_stubs(runtime)
        extra = {
            d.env: stubs[d.name].url
            for d in settings.profile.dependencies
            if d.name in stubs
        }
        instance = runtime.launcher.start(extra_env=extra)
    try:
        return _visit(runtime, canaries, instance, stubs)
    finally:
        if instance is not None and instance.running:
            instance.stop(grace_s=1.0)
        for stub in stubs.values():
            stub.stop()


def _visit(
    runtime: Runtime,
    canaries: Canaries,
    instance: LaunchedTarget | None,
    stubs: dict[str, DependencyStub],
) -> LogSession:
    settings = runtime.settings
    stream: LogStream | None = None
    if instance is not None:
        stream = CaptureStream(instance.output)
    elif settings.log_file:
        stream = FileStream(Path(settings.log_file))
    otlp = OtlpStream(runtime.telemetry)
    otlp_mark = otlp.mark()
    base_url = instance.base_url if instance is not None else runtime.base_url

    evidence = Evidence()
    with bounded_client(headers={"user-agent": "conformance-suite/0.1"}) as client:
        http = HttpProbe(
            client, base_url, runtime.redactor, evidence, runtime.request_timeout_s
        )
        caller = Caller(http, settings, _model(runtime), stubs)
        document = runtime.discovery.document
        probe = probe_request(settings, _model(runtime), document)
        failing = settings.profile.expect.failing_request
        planned = plan(probe, failing, _model(runtime), document, canaries)
        settle_s = settings.profile.logs.settle_s
        sent = [_send(caller, item, stream, evidence, settle_s) for item in planned]
        metrics_text = _scrape(client, base_url + settings.profile.metrics.path)

    exit_code = None
    if instance is not None:
        exit_code = instance.stop(settings.profile.expect.shutdown_grace_s)
    runtime.telemetry.wait_for_trace(
        sent[-1].trace_id, timeout_s=settings.profile.tracing.flush_window_s
    )
    session = LogSession(
        source="",
        exclusive=instance is not None,
        complete=instance is not None,
        lines=[],
        sent=sent,
        canaries=canaries,
        metrics_text=metrics_text,
        exit_code=exit_code,
        evidence=evidence,
    )
    if stream is not None and stream.since(0):
        session.source = f"{stream.name} ({_instance_words(instance)})"
        session.lines = stream.since(0)
        return session

    return _from_otlp(session, otlp.since(otlp_mark), stream)


def _from_otlp(
    session: LogSession, records: list[LogEntry], stream: LogStream | None
) -> LogSession:
    """Judge the OTLP records of the session's traces when no line source had any."""
    ours = {s.trace_id for s in session.sent}
    records = [r for r in records if trace_id_of(r) in ours]
    if not records:
        reason = NO_SOURCE
        if stream is not None:
            reason = f"{stream.name} had no lines and no OTLP logs arrived; {reason}"
        pytest.skip(reason)
    for sent in session.sent:
        sent.window = [r for r in records if trace_id_of(r) == sent.trace_id]
    session.source = "the OTLP logs the target exported"
    session.exclusive = session.complete = False
    session.lines = records
    return session


def _send(
    caller: Caller,
    planned: Planned,
    stream: LogStream | None,
    evidence: Evidence,
    settle_s: float,
) -> Sent:
    parent = TraceParent.new()
    sent = Sent(planned, parent)
    mark = stream.mark() if stream is not None else 0
    before = len(evidence.exchanges)
    headers = [("traceparent", parent.header), *planned.headers]
    try:
        answer = caller.call(planned.spec, headers=headers)
    except ProbeError as exc:
        sent.problem = str(exc)
    except pytest.skip.Exception as exc:
        sent.problem = f"not sent: {exc}"
    else:
        sent.status, sent.body = answer.status, answer.body
    sent.exchanges = evidence.exchanges[before:]
    if stream is not None:
        sent.window = wait_for(
            stream, mark, lambda e: _about(e, sent), settle_s, settle_s=SETTLE_AFTER_S
        )
    return sent


def _about(entry: LogEntry, sent: Sent) -> bool:
    """The entry carries the request's trace id, or looks like its access line."""
    text = entry.text
    if sent.trace_id in text.lower():
        return True
    return sent.path in text and str(sent.status) in text


def _scrape(client: httpx.Client, url: str) -> str:
    """The metrics exposition, raw, for the canary scan; empty when there is none."""
    try:
        response = client.get(url, timeout=5.0)
    except httpx.HTTPError:
        return ""
    return response.text if response.is_success else ""


def _private_stubs(runtime: Runtime) -> dict[str, DependencyStub]:
    """Stubs of the session's own, so its faults never reach other checks' requests."""
    stubs: dict[str, DependencyStub] = {}
    for dependency in runtime.settings.profile.dependencies:
        if dependency.kind == "http":
            stubs[dependency.name] = DependencyStub(dependency.name)
            stubs[dependency.name].start()
    return stubs


def _model(runtime: Runtime) -> SecurityModel | None:
    try:
        return runtime.security_model
    except UsageError:
        return None


def _instance_words(instance: LaunchedTarget | None) -> str:
    if instance is None:
        return "the running target"
    return "an instance started for the log checks, from start-up to exit"
