"""What the receiver keeps of each span, metric point and log record.

Checks read these plain frozen records rather than protobuf messages, so that they
never depend on the wire format or on which transport delivered the data. Ids are
lowercase hex, as in a ``traceparent`` header; attribute values are plain Python values.

The attribute and resource dicts of records decoded from one request may be shared
between records to keep ingestion cheap: treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

SpanKind = Literal[
    "UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"
]
StatusCode = Literal["UNSET", "OK", "ERROR"]
MetricKind = Literal["sum", "gauge", "histogram", "exponential_histogram", "summary"]
Temporality = Literal["unspecified", "delta", "cumulative"]

SERVICE_NAME: Final = "service.name"


def _service(resource: dict[str, Any]) -> str:
    value = resource.get(SERVICE_NAME)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class SpanEvent:
    """A timed event inside a span, such as a recorded exception."""

    name: str
    time_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span as the target exported it."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: SpanKind
    start_ns: int
    end_ns: int
    status_code: StatusCode = "UNSET"
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[SpanEvent] = field(default_factory=list)
    links: int = 0
    resource: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""
    trace_state: str = ""
    flags: int = 0
    received_at: float = 0.0

    @property
    def duration_s(self) -> float:
        """Seconds between start and end, as the target's clock measured them."""
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def service_name(self) -> str:
        """The resource's ``service.name``, or "" when the target did not set one."""
        return _service(self.resource)


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One data point of one metric, with the metric's description flattened in.

    ``value`` is set for sums and gauges; ``count``, ``sum``, ``bucket_counts`` and
    ``explicit_bounds`` for histograms (summaries fill ``count`` and ``sum``).
    """

    name: str
    kind: MetricKind
    description: str = ""
    unit: str = ""
    monotonic: bool = False
    temporality: Temporality = "unspecified"
    attributes: dict[str, Any] = field(default_factory=dict)
    value: float | int | None = None
    count: int | None = None
    sum: float | None = None
    bucket_counts: tuple[int, ...] = ()
    explicit_bounds: tuple[float, ...] = ()
    start_time_ns: int = 0
    time_ns: int = 0
    resource: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""
    received_at: float = 0.0

    @property
    def service_name(self) -> str:
        """The resource's ``service.name``, or "" when the target did not set one."""
        return _service(self.resource)


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One log record exported over OTLP, with the trace context it carried."""

    time_ns: int = 0
    observed_time_ns: int = 0
    severity_text: str = ""
    severity_number: int = 0
    body: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    trace_id: str = ""
    span_id: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""
    received_at: float = 0.0

    @property
    def service_name(self) -> str:
        """The resource's ``service.name``, or "" when the target did not set one."""
        return _service(self.resource)
