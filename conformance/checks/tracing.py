"""Tracing (TRC-01 to TRC-06): one server span per request, shaped by the conventions.

Every probe carries a W3C ``traceparent`` whose trace id the suite chose, so the spans
it causes can be found among everything the target exports to the suite's receiver.
"""

from __future__ import annotations

import secrets
from typing import Final

import pytest

from conformance.api import CheckFailed, Findings, check
from conformance.evidence import Evidence
from conformance.leaks import find_stack_trace
from conformance.profile import Profile, RequestSpec
from conformance.spans import SETTLE_S, TraceProbe, describe
from conformance.telemetry import SpanRecord
from conformance.tracecontext import TraceParent

REQUIRED_ATTRIBUTES: Final = (
    "http.request.method",
    "url.path",
    "url.scheme",
    "http.response.status_code",
    "http.route",
)
MIDDLEWARE: Final = "reference_service/tracing_middleware.py"


@check(
    "TRC-01",
    category="tracing",
    title="Each request produces exactly one server span, exported in time",
    pattern="Every request is traced once, by one instrumentation layer, and its span is "
    "exported within the flush window so traces are complete when people look.",
    remediation="Instrument the HTTP server once (one middleware, not a framework hook "
    "plus a middleware) and export spans with a batch processor that flushes often.",
    reference=MIDDLEWARE,
)
def test_each_request_has_one_server_span(
    traces: TraceProbe, probe_request: RequestSpec, evidence: Evidence
) -> None:
    parent = TraceParent.new()
    call = traces.send(probe_request, parent)

    servers = traces.server_spans_of(call, settle_s=SETTLE_S)
    evidence.note("server spans", "\n".join(describe(s) for s in servers), kind="span")
    if len(servers) > 1:
        msg = f"{probe_request.label} produced {len(servers)} SERVER spans: it is traced twice"
        raise CheckFailed(msg, expected=1, observed=len(servers))


@check(
    "TRC-02",
    category="tracing",
    title="An incoming sampled traceparent is honoured; requests without one start new traces",
    pattern="W3C Trace Context propagation joins the caller's trace, so a request can be "
    "followed across services.",
    remediation="Extract the context with the W3C propagator before starting the server "
    "span, and start it as that context's child.",
    reference=MIDDLEWARE,
)
def test_incoming_trace_context_is_honoured(
    traces: TraceProbe, probe_request: RequestSpec, evidence: Evidence
) -> None:
    parent = TraceParent.new()
    call = traces.send(probe_request, parent)
    found = traces.telemetry.wait_for_trace(parent.trace_id, timeout_s=traces.window_s)
    servers = [s for s in found.items if s.kind == "SERVER"]
    if not servers:
        own = traces.span_of(call)
        observed = describe(own) if own else found.describe()
        msg = "the server span did not join the sent trace: " + observed
        raise CheckFailed(msg, expected=f"trace {parent.trace_id}", observed=observed)

    traces.evidence.add_spans(found.items)
    findings = Findings()
    if servers[0].parent_span_id != parent.span_id:
        findings.add(
            "the server span's parent is not the span id the caller sent",
            expected=parent.span_id,
            observed=servers[0].parent_span_id or "none",
        )

    first, second = traces.send(probe_request), traces.send(probe_request)
    spans = [traces.span_of(first), traces.span_of(second)]
    if all(spans):
        ids = {s.trace_id for s in spans if s}
        evidence.note("trace ids without traceparent", sorted(ids))
        if len(ids) != 2 or parent.trace_id in ids:
            findings.add(
                "requests without traceparent did not get distinct new trace ids",
                expected="two distinct new trace ids",
                observed=sorted(ids),
            )
    else:
        evidence.note(
            "without traceparent", "not verified: spans carry no user_agent.original"
        )
    findings.raise_if_any()


@check(
    "TRC-03",
    category="tracing",
    title="A traceparent with the sampled flag off produces no exported span",
    pattern="Parent-based sampling respects the caller's decision, so a trace is either "
    "complete or absent, never half-kept across services.",
    remediation="Wrap the root sampler in a parent-based sampler.",
    reference="reference_service/telemetry.py",
)
def test_unsampled_context_is_not_exported(
    traces: TraceProbe, probe_request: RequestSpec
) -> None:
    unsampled = TraceParent.new(sampled=False)
    traces.send(probe_request, unsampled)
    control = traces.sentinel(probe_request)
    if not control.satisfied:
        # Without a sampled span arriving, an absent unsampled one proves nothing.
        pytest.skip(f"needs sampled spans to compare with: {control.describe()}")

    leaked = traces.telemetry.spans(trace_id=unsampled.trace_id)
    traces.evidence.add_spans(leaked)
    if leaked:
        msg = f"{len(leaked)} span(s) of an unsampled trace were exported"
        raise CheckFailed(
            msg, expected="no span", observed=[describe(s) for s in leaked]
        )


@check(
    "TRC-04",
    category="tracing",
    title="Server spans follow the HTTP semantic conventions, named by route template",
    pattern="Stable HTTP server conventions make spans comparable across services; a "
    "route template keeps span names and cardinality bounded.",
    remediation="Set http.request.method, url.path, url.scheme, http.response.status_code "
    "and http.route, and name the span '{method} {route}' from the matched template.",
    reference=MIDDLEWARE,
)
def test_server_spans_follow_semantic_conventions(
    traces: TraceProbe, templated: list[RequestSpec], evidence: Evidence
) -> None:
    spans: list[SpanRecord] = []
    for spec in templated:
        parent = TraceParent.new()
        traces.send(spec, parent)
        spans.append(traces.server_spans(parent.trace_id)[0])

    findings = Findings()
    for span in spans:
        missing = [a for a in REQUIRED_ATTRIBUTES if a not in span.attributes]
        if missing:
            findings.add(
                f"span {span.name!r} lacks {', '.join(missing)}",
                expected=list(REQUIRED_ATTRIBUTES),
                observed=sorted(span.attributes),
            )
        route = span.attributes.get("http.route")
        method = span.attributes.get("http.request.method")
        if route and method and span.name != f"{method} {route}":
            findings.add(
                f"span name {span.name!r} is not '{{method}} {{route}}'",
                expected=f"{method} {route}",
                observed=span.name,
            )

    names = sorted({s.name for s in spans})
    evidence.note("span names", names)
    if len(names) > 1:
        findings.add(
            f"{' and '.join(s.label for s in templated)} gave different span names: the "
            "raw path is used instead of the route template",
            expected="one name for one route",
            observed=names,
        )
    findings.raise_if_any()


@check(
    "TRC-05",
    category="tracing",
    title="5xx marks the span as error with the exception; 4xx leaves it unset",
    pattern="Error status tells a server's own failures apart from clients' mistakes, and "
    "the recorded exception explains them without leaking into the response.",
    remediation="On 5xx set the span status to ERROR and record the exception (or "
    "error.type); leave 4xx unset on server spans; answer errors without stack traces.",
    reference=MIDDLEWARE,
)
def test_errors_are_recorded_on_spans(
    traces: TraceProbe, profile: Profile, evidence: Evidence
) -> None:
    failing = profile.expect.failing_request
    if failing is None:
        pytest.skip(
            "needs expect.failing_request in the profile: a request that ends in 5xx"
        )

    parent = TraceParent.new()
    call = traces.send(failing, parent)
    if call.response.status < 500:
        pytest.skip(
            f"the profile's failing request {failing.label} answered "
            f"{call.response.status}, not 5xx; make it fail (faults can help)"
        )

    findings = Findings()
    span = traces.server_spans(parent.trace_id)[0]
    has_exception = any(e.name == "exception" for e in span.events)
    if span.status_code != "ERROR" or not (
        has_exception or "error.type" in span.attributes
    ):
        findings.add(
            f"the {call.response.status} request's span is {span.status_code} without "
            "an exception event or error.type",
            expected="status ERROR with an exception or error.type",
            observed=describe(span),
        )
    trace = find_stack_trace(call.response.text)
    if trace:
        findings.add(
            "the 5xx response body carries a stack trace",
            expected="an error body without internals",
            observed=trace.excerpt,
        )

    missing = RequestSpec(path=f"/conformance-missing-{secrets.token_hex(4)}")
    not_found = TraceParent.new()
    answer = traces.send(missing, not_found).response
    if 400 <= answer.status < 500:
        client_span = traces.server_spans(not_found.trace_id)[0]
        if client_span.status_code == "ERROR":
            findings.add(
                f"a {answer.status} (the client's mistake) marked the server span ERROR",
                expected="UNSET",
                observed=client_span.status_code,
            )
    else:
        evidence.note(
            "4xx probe", f"{missing.label} answered {answer.status}; not judged"
        )
    findings.raise_if_any()


@check(
    "TRC-06",
    category="tracing",
    title="The resource names the service and its version",
    pattern="service.name and service.version identify where a span came from; without "
    "them traces from every service land under unknown_service.",
    remediation="Create the tracer provider with a Resource carrying service.name and "
    "service.version from the service's own configuration.",
    reference="reference_service/telemetry.py",
)
def test_resource_names_the_service(
    traces: TraceProbe, probe_request: RequestSpec, evidence: Evidence
) -> None:
    parent = TraceParent.new()
    traces.send(probe_request, parent)
    span = traces.server_spans(parent.trace_id)[0]
    evidence.note("resource", span.resource)

    findings = Findings()
    name = str(span.resource.get("service.name", ""))
    if not name or name.startswith("unknown_service"):
        findings.add(
            "the resource does not name the service",
            expected="service.name set by the service",
            observed=name or "absent",
        )
    if not span.resource.get("service.version"):
        findings.add(
            "the resource has no service.version",
            expected="a version",
            observed="absent",
        )
    findings.raise_if_any()
