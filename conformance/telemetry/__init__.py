"""The OTLP receiver the observability checks stand on, and the records it keeps."""

from __future__ import annotations

from conformance.telemetry.decode import OtlpDecodeError
from conformance.telemetry.model import LogRecord, MetricPoint, SpanEvent, SpanRecord
from conformance.telemetry.receiver import OtlpReceiver
from conformance.telemetry.store import TelemetryStore, WaitResult

__all__ = [
    "LogRecord",
    "MetricPoint",
    "OtlpDecodeError",
    "OtlpReceiver",
    "SpanEvent",
    "SpanRecord",
    "TelemetryStore",
    "WaitResult",
]
