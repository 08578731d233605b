"""The fixtures checks are written with, built-in and users' own alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.calls import Caller
from conformance.errors import UsageError
from conformance.evidence import Evidence
from conformance.isolation import IsolatedInstances
from conformance.launcher import Launcher
from conformance.logs.streams import CaptureStream, FileStream, LogStream
from conformance.metrics.prometheus import PrometheusServer
from conformance.metrics.sources import MetricSource
from conformance.metrics.sources import discover as discover_metric_sources
from conformance.openapi.document import OpenAPIDocument
from conformance.openapi.security import SecurityModel, read_security_model
from conformance.probe import HttpProbe
from conformance.profile import Profile, RequestSpec
from conformance.redaction import Redactor
from conformance.runtime import Runtime
from conformance.settings import Settings
from conformance.spans import TraceProbe
from conformance.state import EVIDENCE_KEY, RUNTIME_KEY
from conformance.stubs.http_stub import DependencyStub
from conformance.telemetry import TelemetryStore
from conformance.traffic import probe_request as probe_request_for
from conformance.traffic import templated_requests


@pytest.fixture(scope="session")
def conformance_runtime(pytestconfig: pytest.Config) -> Runtime:
    """The run's state; checks skip when the run has no target."""
    runtime = pytestconfig.stash.get(RUNTIME_KEY, None)
    if runtime is None:
        pytest.skip("needs a target: pass --target URL or --target-cmd COMMAND")
    return runtime


@pytest.fixture(scope="session")
def settings(conformance_runtime: Runtime) -> Settings:
    return conformance_runtime.settings


@pytest.fixture(scope="session")
def profile(settings: Settings) -> Profile:
    """The target profile, with the guide's defaults where it says nothing."""
    return settings.profile


@pytest.fixture(scope="session")
def redactor(conformance_runtime: Runtime) -> Redactor:
    return conformance_runtime.redactor


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """What this check observes; the reports show it beside the verdict."""
    recorded = Evidence()
    request.node.stash[EVIDENCE_KEY] = recorded
    return recorded


@pytest.fixture
def http(conformance_runtime: Runtime, evidence: Evidence) -> Iterator[HttpProbe]:
    """An HTTP client for the target that records every exchange, redacted."""
    yield HttpProbe(
        client=conformance_runtime.client,
        base_url=conformance_runtime.base_url,
        redactor=conformance_runtime.redactor,
        evidence=evidence,
        timeout_s=conformance_runtime.request_timeout_s,
    )


@pytest.fixture(scope="session")
def openapi_document(conformance_runtime: Runtime) -> OpenAPIDocument:
    """The target's OpenAPI document; checks that need it skip without one."""
    discovery = conformance_runtime.discovery
    if discovery.document is None:
        pytest.skip(discovery.reason())
    return discovery.document


@pytest.fixture(scope="session")
def security_model(openapi_document: OpenAPIDocument) -> SecurityModel:
    return read_security_model(openapi_document)


@pytest.fixture(scope="session")
def launcher(conformance_runtime: Runtime) -> Launcher:
    """Starts extra instances of the target; checks that need it skip without a command."""
    if conformance_runtime.launcher is None:
        pytest.skip("needs a launch command: pass --target-cmd or set target.command")
    return conformance_runtime.launcher


@pytest.fixture(scope="session")
def telemetry(conformance_runtime: Runtime) -> TelemetryStore:
    """What the target exported to the suite's OTLP receiver, with deadline waits."""
    return conformance_runtime.telemetry


@pytest.fixture(scope="session")
def dependency_stubs(conformance_runtime: Runtime) -> dict[str, DependencyStub]:
    """The stubs standing in for the target's declared HTTP dependencies, by name."""
    return conformance_runtime.stubs


@pytest.fixture
def caller(http: HttpProbe, settings: Settings, conformance_runtime: Runtime) -> Caller:
    """Sends the profile's request specs with the credentials their scheme needs."""
    return Caller(
        http, settings, _model(conformance_runtime), conformance_runtime.stubs
    )


@pytest.fixture
def traces(
    caller: Caller, telemetry: TelemetryStore, evidence: Evidence, profile: Profile
) -> TraceProbe:
    """Sends traced probes and finds their spans within the profile's flush window."""
    return TraceProbe(caller, telemetry, evidence, profile.tracing.flush_window_s)


@pytest.fixture(scope="session")
def probe_request(conformance_runtime: Runtime) -> RequestSpec:
    """A simple request the target serves: the profile's, or a GET from OpenAPI."""
    runtime = conformance_runtime
    return probe_request_for(
        runtime.settings, _model(runtime), runtime.discovery.document
    )


@pytest.fixture(scope="session")
def templated(conformance_runtime: Runtime) -> list[RequestSpec]:
    """Two requests to one route template with different values."""
    found = templated_requests(
        conformance_runtime.settings, _model(conformance_runtime)
    )
    if not found:
        pytest.skip(
            "needs two requests to one route template: a GET with one path parameter "
            "in the OpenAPI document, or tracing.templated in the profile"
        )
    return found


def _model(runtime: Runtime) -> SecurityModel | None:
    try:
        return runtime.security_model
    except UsageError:
        return None


@pytest.fixture(scope="session")
def isolated_instances(
    conformance_runtime: Runtime, request: pytest.FixtureRequest
) -> Iterator[IsolatedInstances | None]:
    """Fresh instances for the checks that use ``isolated_http``, one started ahead."""
    launcher = conformance_runtime.launcher
    if launcher is None:
        yield None
        return
    wanted = sum(
        "isolated_http" in getattr(item, "fixturenames", ())
        for item in request.session.items
    )
    pool = IsolatedInstances(
        launcher,
        wanted,
        conformance_runtime.settings.profile.target.startup_timeout_s,
        conformance_runtime.settings.profile.expect.shutdown_grace_s,
    )
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def isolated_http(
    conformance_runtime: Runtime,
    isolated_instances: IsolatedInstances | None,
    evidence: Evidence,
) -> Iterator[HttpProbe]:
    """A probe on an instance of its own, for checks that disturb the target.

    With a launch command the suite starts a fresh instance and stops it afterwards;
    against a given URL the check runs on the shared target, after all the others.
    """
    runtime = conformance_runtime
    pool = isolated_instances
    instance = pool.take() if pool is not None else None
    base_url = instance.base_url if instance is not None else runtime.base_url
    try:
        yield HttpProbe(
            client=runtime.client,
            base_url=base_url,
            redactor=runtime.redactor,
            evidence=evidence,
            timeout_s=runtime.request_timeout_s,
        )
    finally:
        if pool is not None and instance is not None:
            pool.release(instance)


@pytest.fixture(scope="session")
def maybe_templated(conformance_runtime: Runtime) -> list[RequestSpec]:
    """Two requests to one route template, or none when the target has no such route."""
    return templated_requests(conformance_runtime.settings, _model(conformance_runtime))


@pytest.fixture(scope="session")
def metric_sources(conformance_runtime: Runtime) -> list[MetricSource]:
    """Every place the target's metrics can be read; checks skip when there is none."""
    runtime = conformance_runtime
    section = runtime.settings.profile.metrics
    server = None
    if runtime.settings.prometheus_url:
        server = PrometheusServer(
            runtime.client,
            runtime.settings.prometheus_url,
            section.prometheus_selector,
            runtime.request_timeout_s,
        )
    found, missing = discover_metric_sources(
        runtime.client,
        section.base_url or runtime.base_url,
        section.path,
        runtime.telemetry,
        server,
        otlp_wait_s=section.flush_window_s if runtime.launcher else 0.0,
        timeout_s=runtime.request_timeout_s,
    )
    if not found:
        pytest.skip(
            "needs metrics: a Prometheus endpoint (metrics.path, metrics.base_url in "
            "the profile), OTLP metrics sent to the suite's receiver, or "
            f"--prometheus-url ({'; '.join(missing)})"
        )
    return found


@pytest.fixture(scope="session")
def log_stream(conformance_runtime: Runtime) -> LogStream:
    """The main target's log lines: its captured output when launched, or a file."""
    runtime = conformance_runtime
    if runtime.main_instance is not None:
        return CaptureStream(runtime.main_instance.output)
    if runtime.settings.log_file:
        return FileStream(Path(runtime.settings.log_file))
    pytest.skip(
        "needs the target's logs: launch it with --target-cmd, or name the file it "
        "writes with --target-log-file PATH (or logs.file in the profile)"
    )
