"""Traced probes: send a request with a chosen trace id and find the spans it caused."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from conformance.calls import Caller
from conformance.errors import CheckFailed
from conformance.evidence import Evidence
from conformance.probe import ProbeResponse
from conformance.profile import RequestSpec
from conformance.telemetry import SpanRecord, TelemetryStore, WaitResult
from conformance.tracecontext import TRACEPARENT, TraceParent

SETTLE_S = 1.0


@dataclass
class TracedCall:
    """One probe, the context it carried, and the marker that finds it without one."""

    response: ProbeResponse
    parent: TraceParent | None
    marker: str
    spans: list[SpanRecord] = field(default_factory=list)


class TraceProbe:
    """Sends traced requests and waits, within the flush window, for their spans."""

    def __init__(
        self,
        caller: Caller,
        telemetry: TelemetryStore,
        evidence: Evidence,
        window_s: float,
    ) -> None:
        self.caller = caller
        self.telemetry = telemetry
        self.evidence = evidence
        self.window_s = window_s

    def send(
        self,
        spec: RequestSpec,
        parent: TraceParent | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> TracedCall:
        """Send ``spec`` with ``parent`` as its context and a unique user agent."""
        marker = f"conformance-probe/{secrets.token_hex(6)}"
        sent = [("user-agent", marker), *headers]
        if parent is not None:
            sent.append((TRACEPARENT, parent.header))
        response = self.caller.call(spec, headers=sent)
        return TracedCall(response, parent, marker)

    def server_spans(self, trace_id: str, settle_s: float = 0.0) -> list[SpanRecord]:
        """SERVER spans of one trace; fails the check when none arrives in the window."""
        result = self.telemetry.wait_for_trace(
            trace_id, timeout_s=self.window_s, settle_s=settle_s
        )
        self.evidence.add_spans(result.items)
        servers = [span for span in result.items if span.kind == "SERVER"]
        if not servers:
            msg = f"no SERVER span for the probe's trace: {result.describe()}"
            raise CheckFailed(
                msg, expected="one SERVER span", observed=result.describe()
            )
        return servers

    def server_spans_of(
        self, call: TracedCall, settle_s: float = 0.0
    ) -> list[SpanRecord]:
        """SERVER spans of the call's trace, found by its user agent when the target
        started a trace of its own instead of joining the one sent."""
        assert call.parent is not None
        result = self.telemetry.wait_for_trace(
            call.parent.trace_id, timeout_s=self.window_s, settle_s=settle_s
        )
        servers = [span for span in result.items if span.kind == "SERVER"]
        if not servers:
            own = self.span_of(call, timeout_s=0.0)
            if own is not None:
                result = self.telemetry.wait_for_trace(
                    own.trace_id, timeout_s=self.window_s, settle_s=settle_s
                )
                servers = [span for span in result.items if span.kind == "SERVER"]
        self.evidence.add_spans(result.items)
        if not servers:
            msg = f"no SERVER span for the probe arrived: {result.describe()}"
            raise CheckFailed(
                msg, expected="one SERVER span", observed=result.describe()
            )
        return servers

    def span_of(
        self, call: TracedCall, timeout_s: float | None = None
    ) -> SpanRecord | None:
        """The SERVER span recording ``call``, found by its user agent marker."""
        result = self.telemetry.wait_for_spans(
            lambda s: (
                s.kind == "SERVER"
                and s.attributes.get("user_agent.original") == call.marker
            ),
            timeout_s=self.window_s if timeout_s is None else timeout_s,
        )
        self.evidence.add_spans(result.items)
        return result.items[0] if result.items else None

    def sentinel(self, spec: RequestSpec) -> WaitResult[SpanRecord]:
        """Send a sampled probe and wait for it, so earlier exports have arrived too."""
        parent = TraceParent.new()
        self.send(spec, parent)
        return self.telemetry.wait_for_trace(
            parent.trace_id, timeout_s=self.window_s, settle_s=SETTLE_S
        )


def describe(span: SpanRecord) -> str:
    """One line naming a span for messages: kind, name, ids, status."""
    parent = span.parent_span_id or "none"
    return (
        f"{span.kind} {span.name!r} trace {span.trace_id} span {span.span_id} "
        f"parent {parent} status {span.status_code}"
    )
