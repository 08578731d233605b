"""The state of one run: the target, its launcher, the OpenAPI document, the results.

The plugin creates one :class:`Runtime` in ``pytest_configure`` and keeps it in
``config.stash``; fixtures and hooks read it from there.
"""

from __future__ import annotations

import ssl
import time
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

import httpx

from conformance.deadline import bounded_client
from conformance.errors import UsageError
from conformance.gate import load_report
from conformance.launcher import LaunchedTarget, Launcher, LaunchSpec
from conformance.openapi.document import (
    Discovery,
    OpenAPIDocument,
    discover_document,
    load_named_document,
)
from conformance.openapi.security import SecurityModel, read_security_model
from conformance.probe import USER_AGENT
from conformance.redaction import Redactor
from conformance.reports.model import RunReport
from conformance.settings import Settings
from conformance.stubs.http_stub import DependencyStub
from conformance.telemetry import OtlpReceiver, TelemetryStore


class Runtime:
    """Owns everything that lives as long as the run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redactor = Redactor(settings.credentials.secrets())
        for scheme in settings.credentials.schemes():
            values = settings.credentials.for_scheme(scheme) or {}
            if "username" in values and "password" in values:
                self.redactor.add_basic_credentials(
                    values["username"], values["password"]
                )
        self.baseline = (
            load_report(settings.baseline, "--baseline") if settings.baseline else None
        )
        self.telemetry = TelemetryStore()
        self.receiver = OtlpReceiver(
            self.telemetry,
            http_address=settings.otlp_http,
            grpc_address=settings.otlp_grpc,
        )
        self.stubs: dict[str, DependencyStub] = {}
        self.launcher: Launcher | None = None
        self.main_instance: LaunchedTarget | None = None
        self.base_url = settings.target_url or ""
        self.client = bounded_client(
            headers={"user-agent": USER_AGENT},
            follow_redirects=False,
            verify=_trust(settings.profile.tls.ca_file),
        )
        self.started_at = time.monotonic()
        self.report = RunReport(
            target=self.redactor.url(settings.target_url or settings.target_cmd or ""),
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            strict=settings.strict,
        )

    @property
    def request_timeout_s(self) -> float:
        return self.settings.profile.target.request_timeout_s

    def start(self) -> None:
        """Start the receiver and stubs, reach or launch the target, read named OpenAPI."""
        self.receiver.start()
        if self.settings.target_cmd is not None:
            self.stubs = _start_stubs(self.settings)
            suite_env = self.receiver.exporter_env()
            for dependency in self.settings.profile.dependencies:
                if dependency.name in self.stubs:
                    suite_env[dependency.env] = self.stubs[dependency.name].url
            self.launcher = _launcher(self.settings, suite_env)
        self._reach_or_launch()
        if self.settings.openapi:
            self.discovery  # noqa: B018 - a named document that cannot be read stops the run

    def _reach_or_launch(self) -> None:
        if self.launcher is not None and self.settings.target_url is None:
            self.main_instance = self.launcher.start()
            self.base_url = self.main_instance.base_url
            self.report.target = f"{self.base_url} ({self.settings.target_cmd})"
            return

        try:
            # Only the head matters here; an endless or dripping body is the checks' to judge.
            with self.client.stream(
                "GET", self.base_url + "/", timeout=self.request_timeout_s
            ):
                pass
        except (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            msg = (
                f"The target {self.base_url!r} cannot be reached ({exc}). Check the URL, "
                "or start the service first, or let the suite start it with --target-cmd."
            )
            raise UsageError(msg) from exc
        except httpx.HTTPError:
            # It accepted the connection; what it does next is for the checks to judge.
            pass

    def receiver_summary(self) -> str:
        try:
            return f"{self.receiver.http_endpoint} (HTTP), {self.receiver.grpc_endpoint} (gRPC)"
        except RuntimeError:
            return "not started"

    def close(self) -> None:
        self.client.close()
        if self.launcher is not None:
            self.launcher.stop_all(
                grace_s=self.settings.profile.expect.shutdown_grace_s
            )

    @cached_property
    def discovery(self) -> Discovery:
        """The OpenAPI document the user named, or one found on the target."""
        if self.settings.openapi:
            document = load_named_document(
                self.settings.openapi, self.request_timeout_s
            )
            return self._adopt(
                Discovery(document, (f"--openapi {self.settings.openapi}",))
            )

        found = discover_document(self.client, self.base_url, self.request_timeout_s)
        return self._adopt(found)

    @cached_property
    def security_model(self) -> SecurityModel | None:
        document = self.discovery.document
        return read_security_model(document) if document else None

    def finish(self) -> RunReport:
        self.report.duration_s = time.monotonic() - self.started_at
        return self.report

    def _adopt(self, discovery: Discovery) -> Discovery:
        document: OpenAPIDocument | None = discovery.document
        if document is not None:
            self.report.openapi = self.redactor.url(document.source)
            model = read_security_model(document)
            for scheme in model.schemes.values():
                if scheme.type == "apiKey" and scheme.location == "header":
                    self.redactor.add_header(scheme.parameter)
        return discovery


def _start_stubs(settings: Settings) -> dict[str, DependencyStub]:
    stubs: dict[str, DependencyStub] = {}
    for dependency in settings.profile.dependencies:
        if dependency.kind == "http":
            stubs[dependency.name] = DependencyStub(dependency.name)
            stubs[dependency.name].start()
    return stubs


def _launcher(settings: Settings, suite_env: dict[str, str]) -> Launcher:
    assert settings.target_cmd is not None
    target = settings.profile.target
    return Launcher(
        LaunchSpec(
            command=settings.target_cmd,
            address_env=target.address_env,
            env=target.env,
            ready_path=target.ready_path,
            startup_timeout_s=target.startup_timeout_s,
            cwd=Path.cwd(),
        ),
        suite_env,
    )


def _trust(ca_file: str | None) -> ssl.SSLContext | bool:
    """Trust the profile's CA for an https target, or the system store without one."""
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        msg = f"The profile's tls.ca_file {ca_file!r} cannot be loaded: {exc}."
        raise UsageError(msg) from exc
