"""Tracing (TRC-07 to TRC-10): declared spans, span lifetimes, and context across hops."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from conformance.api import CheckFailed, Findings, check
from conformance.evidence import Evidence
from conformance.profile import Profile, RequestSpec, SpanExpectation
from conformance.spans import TraceProbe, describe
from conformance.stubs.http_stub import DependencyStub, RecordedRequest
from conformance.telemetry import SpanRecord
from conformance.tracecontext import (
    TRACEPARENT,
    TRACESTATE,
    TraceParent,
    malformed_traceparents,
    parse,
)

PROBE_TRACESTATE = "conformance=probe"


@check(
    "TRC-07",
    category="tracing",
    title="Declared spans appear with their attributes",
    pattern="Business operations get their own spans with the attributes people search "
    "by (the guide's create_order with order.id and order.amount).",
    remediation="Start a child span around the operation and set the declared attributes "
    "on it.",
    reference="reference_service/api/routes/orders.py",
)
def test_declared_spans_appear(
    traces: TraceProbe, profile: Profile, evidence: Evidence
) -> None:
    if not profile.spans:
        pytest.skip("needs [[spans]] expectations in the profile")

    findings = Findings()
    for expectation in profile.spans:
        parent = TraceParent.new()
        traces.send(expectation.request, parent)
        trace = traces.telemetry.wait_for_spans(
            _named(parent.trace_id, expectation.name), timeout_s=traces.window_s
        )
        if trace.items and trace.items[0].parent_span_id:
            traces.telemetry.wait_for_spans(
                _span(parent.trace_id, trace.items[0].parent_span_id),
                timeout_s=traces.window_s,
            )
        spans = traces.telemetry.spans(trace_id=parent.trace_id)
        evidence.add_spans(spans)
        if not trace.items:
            findings.add(
                f"no span named {expectation.name!r} under {expectation.request.label}",
                expected=expectation.name,
                observed=sorted({s.name for s in spans}) or trace.describe(),
            )
            continue
        problem = _mismatch(trace.items[0], expectation, spans)
        if problem:
            findings.add(
                problem,
                expected=_expected(expectation),
                observed=describe(trace.items[0]),
            )
    findings.raise_if_any()


@check(
    "TRC-08",
    category="tracing",
    title="A streamed response's span lasts as long as the stream",
    pattern="A span ends when the response ends; a span that ends when the handler "
    "returns hides the time spent streaming.",
    remediation="End the server span on the last body chunk (more_body false) or on "
    "disconnect, not when the application callable returns.",
    reference="reference_service/tracing_middleware.py",
)
def test_streamed_span_lasts_as_long_as_the_stream(
    traces: TraceProbe, profile: Profile, evidence: Evidence
) -> None:
    stream = profile.expect.stream_request
    if stream is None:
        pytest.skip("needs expect.stream_request in the profile: a streamed response")

    parent = TraceParent.new()
    started = time.monotonic()
    traces.send(stream, parent)
    streamed_s = time.monotonic() - started
    span = traces.server_spans(parent.trace_id)[0]
    evidence.note(
        "stream", f"client saw {streamed_s:.3f} s; span lasted {span.duration_s:.3f} s"
    )
    if streamed_s < 0.2:
        pytest.skip(f"the stream lasted {streamed_s:.3f} s, too short to tell")
    if span.duration_s < 0.8 * streamed_s:
        msg = (
            f"the span lasted {span.duration_s:.3f} s of a {streamed_s:.3f} s stream: it "
            "ended before the stream did"
        )
        raise CheckFailed(
            msg,
            expected=f">= {0.8 * streamed_s:.3f} s",
            observed=f"{span.duration_s:.3f} s",
        )


@check(
    "TRC-09",
    category="tracing",
    title="Outgoing calls carry the trace context from a CLIENT span",
    pattern="Propagating context on outgoing calls joins the dependency's work to the "
    "request's trace; the CLIENT span shows the time spent waiting for it.",
    remediation="Wrap outgoing HTTP calls in a CLIENT span and inject the context into "
    "their headers with the global propagator.",
    reference="reference_service/api/routes/orders.py",
)
def test_outgoing_calls_propagate_context(
    traces: TraceProbe,
    profile: Profile,
    dependency_stubs: dict[str, DependencyStub],
    evidence: Evidence,
) -> None:
    triggered = [
        d for d in profile.dependencies if d.trigger and d.name in dependency_stubs
    ]
    if not triggered:
        pytest.skip(
            "needs a launched target (--target-cmd) and an http dependency in the profile "
            "with a trigger request that makes the target call it"
        )

    findings = Findings()
    for dependency in triggered:
        assert dependency.trigger is not None
        stub = dependency_stubs[dependency.name]
        parent = TraceParent.new()
        sent_at = time.monotonic()
        traces.send(dependency.trigger, parent)
        received = stub.wait_for_request(_after(sent_at), timeout_s=traces.window_s)
        if received is None:
            findings.add(
                f"{dependency.trigger.label} made no call to {dependency.name}",
                expected="a call to the stub",
                observed="none",
            )
            continue
        header = received.header(TRACEPARENT)
        evidence.note(
            f"{dependency.name} received",
            f"{received.method} {received.path} traceparent={header}",
        )
        problem = _propagation_problem(traces, header, parent)
        if problem:
            findings.add(
                f"the call to {dependency.name}: {problem}",
                expected=f"trace {parent.trace_id} from a CLIENT span",
                observed=header or "no traceparent",
            )
    findings.raise_if_any()


@check(
    "TRC-10",
    category="tracing",
    title="Malformed trace context is handled safely; tracestate travels",
    pattern="A server must survive any header a client sends, and must not adopt ids the "
    "W3C rules reject: it starts a fresh trace instead.",
    remediation="Use the W3C propagator's validation (reject version ff, zero ids, wrong "
    "lengths, illegal characters, duplicated headers) and never fail a request over it.",
    reference="reference_service/tracing_middleware.py",
)
def test_malformed_trace_context_is_handled_safely(
    traces: TraceProbe, probe_request: RequestSpec, evidence: Evidence
) -> None:
    findings = Findings()
    cases = malformed_traceparents()
    for case in cases:
        headers = [(TRACEPARENT, value) for value in case.values]
        call = traces.send(probe_request, headers=headers)
        evidence.note(
            case.label, f"{' | '.join(case.values)} -> {call.response.status}"
        )
        if call.response.status >= 500:
            findings.add(
                f"traceparent with {case.label} answered {call.response.status}",
                expected="no 5xx",
                observed=call.response.status,
            )

    traces.sentinel(probe_request)
    for case in cases:
        adopted = traces.telemetry.spans(
            predicate=_carrying(case.trace_id, case.span_id)
        )
        if adopted:
            evidence.add_spans(adopted)
            findings.add(
                f"the invalid ids of a traceparent with {case.label} were propagated",
                expected="a fresh trace",
                observed=describe(adopted[0]),
            )

    parent = TraceParent.new()
    traces.send(probe_request, parent, headers=[(TRACESTATE, PROBE_TRACESTATE)])
    span = traces.server_spans(parent.trace_id)[0]
    if span.trace_state != PROBE_TRACESTATE:
        findings.add(
            "a valid tracestate did not travel with the context",
            expected=PROBE_TRACESTATE,
            observed=span.trace_state or "empty",
        )
    findings.raise_if_any()


def _named(trace_id: str, name: str) -> Callable[[SpanRecord], bool]:
    return lambda span: span.trace_id == trace_id and span.name == name


def _span(trace_id: str, span_id: str) -> Callable[[SpanRecord], bool]:
    return lambda span: span.trace_id == trace_id and span.span_id == span_id


def _after(moment: float) -> Callable[[RecordedRequest], bool]:
    return lambda request: request.at >= moment


def _carrying(trace_id: str, span_id: str) -> Callable[[SpanRecord], bool]:
    return lambda span: span.trace_id == trace_id or span.parent_span_id == span_id


def _propagation_problem(
    traces: TraceProbe, header: str | None, parent: TraceParent
) -> str:
    if not header:
        return "it carried no traceparent"
    parsed = parse(header)
    if parsed is None:
        return f"its traceparent {header!r} is not valid"
    trace_id, span_id = parsed
    if trace_id != parent.trace_id:
        return f"its trace id {trace_id} is not the request's {parent.trace_id}"

    found = traces.telemetry.wait_for_spans(
        lambda s: s.trace_id == trace_id and s.span_id == span_id,
        timeout_s=traces.window_s,
    )
    traces.evidence.add_spans(traces.telemetry.spans(trace_id=trace_id))
    if not found.items:
        return f"its parent span {span_id} was never exported"
    if found.items[0].kind != "CLIENT":
        return f"its parent span {span_id} is {found.items[0].kind}, not CLIENT"
    return ""


def _mismatch(
    span: SpanRecord, expectation: SpanExpectation, trace: list[SpanRecord]
) -> str:
    if expectation.kind and span.kind != expectation.kind.upper():
        return f"span {span.name!r} is {span.kind}, not {expectation.kind.upper()}"
    if expectation.parent:
        parents = [s for s in trace if s.span_id == span.parent_span_id]
        wanted = expectation.parent
        ok = parents and (
            parents[0].name == wanted
            or (
                wanted.upper() in ("SERVER", "CLIENT")
                and parents[0].kind == wanted.upper()
            )
        )
        if not ok:
            return f"span {span.name!r} is not a child of {wanted!r}"
    for key, value in expectation.attributes.items():
        if key not in span.attributes:
            return f"span {span.name!r} lacks the attribute {key!r}"
        if value != "*" and not _same(span.attributes[key], value):
            return (
                f"span {span.name!r} has {key}={span.attributes[key]!r}, not {value!r}"
            )
    return ""


def _same(observed: Any, expected: Any) -> bool:
    if isinstance(expected, int | float) and isinstance(observed, int | float):
        return float(observed) == float(expected)
    return bool(observed == expected)


def _expected(expectation: SpanExpectation) -> dict[str, Any]:
    return {
        "name": expectation.name,
        "kind": expectation.kind,
        "parent": expectation.parent,
        "attributes": expectation.attributes,
    }
