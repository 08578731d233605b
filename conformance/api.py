"""The public API for writing checks: what built-in checks use, and yours can too.

A check is a pytest test function decorated with :func:`check`. It receives fixtures,
probes the target, and ends in one of four ways: it returns (passed), raises
:class:`CheckFailed` or calls :meth:`Findings.raise_if_any` (failed, with expected and
observed values and a severity), calls ``pytest.skip(reason)`` when a precondition is
missing (skipped, never counted as passed), or a probe raises :class:`ProbeError` (error).

Fixtures, by name (types below):

==================  ====================================================================
``http``            :class:`HttpProbe` for the target; records every exchange, redacted
``caller``          :class:`Caller` sending :class:`RequestSpec` with profile credentials
``evidence``        :class:`Evidence` of this check: ``note()``, ``add_spans()``
``profile``         :class:`Profile`, the target profile with the guide's defaults
``settings``        :class:`Settings` of the run (target, credentials, report directory)
``telemetry``       :class:`TelemetryStore` of spans, metric points and logs, with waits
``traces``          :class:`TraceProbe`: send traced requests, find their spans
``launcher``        :class:`Launcher` starting extra instances (skips without a command)
``dependency_stubs`` ``dict[str, DependencyStub]`` standing in for HTTP dependencies
``openapi_document`` :class:`OpenAPIDocument` (skips without one)
``security_model``  :class:`SecurityModel`: schemes and operations with their security
==================  ====================================================================

Everything named here is stable; other modules of the package may change.
"""

from __future__ import annotations

from conformance.calls import Caller
from conformance.errors import CheckFailed, ProbeError, Severity
from conformance.evidence import Evidence
from conformance.findings import Findings
from conformance.launcher import LaunchedTarget, Launcher
from conformance.openapi.document import OpenAPIDocument
from conformance.openapi.security import Operation, SecurityModel, SecurityScheme
from conformance.probe import HttpProbe, ProbeResponse
from conformance.profile import Profile, RequestSpec
from conformance.settings import Settings
from conformance.spans import TraceProbe
from conformance.spec import CheckSpec, check
from conformance.stubs.http_stub import DependencyStub
from conformance.telemetry import LogRecord, MetricPoint, SpanRecord, TelemetryStore
from conformance.tracecontext import TraceParent

__all__ = [
    "Caller",
    "CheckFailed",
    "CheckSpec",
    "DependencyStub",
    "Evidence",
    "Findings",
    "HttpProbe",
    "LaunchedTarget",
    "Launcher",
    "LogRecord",
    "MetricPoint",
    "OpenAPIDocument",
    "Operation",
    "ProbeError",
    "ProbeResponse",
    "Profile",
    "RequestSpec",
    "SecurityModel",
    "SecurityScheme",
    "Settings",
    "Severity",
    "SpanRecord",
    "TelemetryStore",
    "TraceParent",
    "TraceProbe",
    "check",
]
