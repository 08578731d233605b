"""The target profile: ``conformance.toml``.

A profile describes one service: how to reach or launch it, what to expect of it, and
which environment variables hold its credentials. Secrets never appear in the file
itself: a credential names the variable that holds it, and loading the profile reads
those variables, so an unset one stops the run before any probe.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from conformance.errors import ProfileError


class Section(BaseModel):
    """A profile table: unknown keys are typos, so they are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TargetSection(Section):
    url: str | None = None
    command: str | None = None
    openapi: str | None = None
    address_env: dict[str, str] = Field(
        default_factory=lambda: {"HTTP_ADDR": "{host}:{port}"}
    )
    env: dict[str, str] = Field(default_factory=dict)
    ready_path: str | None = None
    startup_timeout_s: float = Field(default=30.0, gt=0, le=600)
    request_timeout_s: float = Field(default=10.0, gt=0, le=300)


class RequestSpec(Section):
    """A request the suite sends on the profile's behalf, e.g. one that creates an order.

    ``auth`` names the security scheme (as the OpenAPI document names it) whose
    credentials the request carries; ``scopes`` are put into a minted JWT. ``faults``
    sets stubbed dependencies' modes (``503``, ``stall``, ``reset``, ``refuse``) while
    the request is served, e.g. to make it fail.
    """

    method: str = "GET"
    path: str
    json_body: Any = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    auth: str | None = None
    scopes: list[str] = Field(default_factory=list)
    faults: dict[str, str] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


class HealthSection(Section):
    path: str = "/healthz"
    readiness_path: str | None = None
    liveness_path: str | None = None
    max_latency_s: float = Field(default=1.0, gt=0)


class ExpectSection(Section):
    """Expectations of the server's behaviour; defaults are the guide's values."""

    header_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    idle_timeout_s: float = Field(default=120.0, gt=0)
    max_header_bytes: int = Field(default=1 << 20, gt=0)
    shutdown_grace_s: float = Field(default=30.0, gt=0)
    auth_attempt_limit: int = Field(default=20, gt=0, le=1000)
    failing_request: RequestSpec | None = None
    slow_request: RequestSpec | None = None
    stream_request: RequestSpec | None = None
    # Resilience (RES-03, RES-09): idle closes sooner than this are warned about
    # (default: half the idle timeout); a stream that would outlast the grace period.
    min_idle_timeout_s: float | None = Field(default=None, ge=0)
    shutdown_stream_request: RequestSpec | None = None


class TracingSection(Section):
    """What the tracing checks send; without these they pick operations from OpenAPI."""

    flush_window_s: float = Field(default=10.0, gt=0, le=120)
    probe: RequestSpec | None = None
    templated: list[RequestSpec] = Field(default_factory=list)


class SpanExpectation(Section):
    """A span the target must emit while serving ``request`` (TRC-07)."""

    request: RequestSpec
    name: str
    kind: str | None = None
    parent: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class Dependency(Section):
    """A dependency the target needs and the variable that points the target at it.

    ``http``: the suite can stand a stub in its place; ``tcp``: a fault proxy;
    ``embedded``: in-process (SQLite, say), reported by health but not interposable.
    ``trigger`` is a request that makes the target call the dependency (TRC-09).
    """

    name: str
    kind: str = Field(default="http", pattern="^(http|tcp|embedded)$")
    env: str
    trigger: RequestSpec | None = None


class CredentialRef(Section):
    """Names of the variables that hold one security scheme's credentials."""

    username_env: str | None = None
    password_env: str | None = None
    value_env: str | None = None
    token_env: str | None = None
    signing_key_env: str | None = None
    public_key_env: str | None = None
    algorithm: str | None = None
    issuer: str | None = None
    audience: str | None = None
    # OAuth2: a client allowed the client_credentials grant; the suite fetches
    # its tokens from the scheme's declared tokenUrl.
    client_id_env: str | None = None
    client_secret_env: str | None = None

    def variable_names(self) -> dict[str, str]:
        """Field name to variable name, for every variable this credential reads."""
        fields = (
            "username_env",
            "password_env",
            "value_env",
            "token_env",
            "signing_key_env",
            "public_key_env",
            "client_id_env",
            "client_secret_env",
        )
        return {f: getattr(self, f) for f in fields if getattr(self, f)}


class FuzzingSection(Section):
    """How many generated requests SEC-10 sends per operation, and for how long."""

    examples_per_operation: int = Field(default=25, ge=1, le=1000)
    budget_s: float = Field(default=30.0, gt=0, le=600)


class TlsSection(Section):
    """Where the CA that signs the target's certificate is, when it is not public."""

    ca_file: str | None = None


class ConfigurationSection(Section):
    """Variables the configuration checks (CFG-01 to CFG-03) vary; guide's names."""

    required_env: str = "DATABASE_URL"
    duration_env: str = "READ_TIMEOUT"
    log_level_env: str = "LOG_LEVEL"
    startup_exit_s: float = Field(default=5.0, gt=0, le=120)


class ReportSection(Section):
    dir: str | None = None
    strict: bool = False
    fail_on: str | None = None


class BusinessMetric(Section):
    """A metric the target must record when ``request`` is served (MET-05).

    ``name`` is the Prometheus form (``orders_total``); OTLP instruments are matched
    by their translated name. A counter rises by ``increase`` per request and carries
    ``labels``; a histogram records one value per request.
    """

    name: str
    kind: str = Field(default="counter", pattern="^(counter|histogram)$")
    request: RequestSpec
    increase: float = 1.0
    labels: list[str] = Field(default_factory=list)


class MetricsSection(Section):
    """Where metrics are read and what they must show (MET-01 to MET-05)."""

    path: str = "/metrics"
    base_url: str | None = None
    request_metric: str | None = None
    prometheus_selector: str = ""
    flush_window_s: float = Field(default=15.0, gt=0, le=300)
    probe_count: int = Field(default=10, gt=0, le=200)
    distinct_probes: int = Field(default=20, gt=1, le=200)
    business: list[BusinessMetric] = Field(default_factory=list)


class LogsSection(Section):
    """Where logs are read when the suite does not launch the target (LOG checks)."""

    file: str | None = None
    settle_s: float = Field(default=1.0, gt=0, le=30)
    pty_timeout_s: float = Field(default=20.0, gt=0, le=120)


class DebugSection(Section):
    """The debug surface (DBG checks); defaults are the guide's conventions."""

    switch_path: str = "/debug"
    switch_param: str = "debug-logs"
    profile_path: str = "/debug/pprof/"
    auth: str | None = None


class Profile(Section):
    target: TargetSection = Field(default_factory=TargetSection)
    health: HealthSection = Field(default_factory=HealthSection)
    expect: ExpectSection = Field(default_factory=ExpectSection)
    report: ReportSection = Field(default_factory=ReportSection)
    dependencies: list[Dependency] = Field(default_factory=list)
    credentials: dict[str, CredentialRef] = Field(default_factory=dict)
    tracing: TracingSection = Field(default_factory=TracingSection)
    tls: TlsSection = Field(default_factory=TlsSection)
    fuzzing: FuzzingSection = Field(default_factory=FuzzingSection)
    spans: list[SpanExpectation] = Field(default_factory=list)
    metrics: MetricsSection = Field(default_factory=MetricsSection)
    logs: LogsSection = Field(default_factory=LogsSection)
    debug: DebugSection = Field(default_factory=DebugSection)
    configuration: ConfigurationSection = Field(default_factory=ConfigurationSection)

    @field_validator("dependencies")
    @classmethod
    def _unique_dependency_names(cls, value: list[Dependency]) -> list[Dependency]:
        names = [d.name for d in value]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            msg = f"dependency names must be unique; repeated: {', '.join(duplicated)}"
            raise ValueError(msg)
        return value


def load_profile(path: Path) -> Profile:
    """Read and validate the profile at ``path``; every problem is a ProfileError."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"The profile {str(path)!r} does not exist. Pass --profile with an existing file."
        raise ProfileError(msg) from exc
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"The profile {str(path)!r} cannot be read: {exc}."
        raise ProfileError(msg) from exc
    except tomllib.TOMLDecodeError as exc:
        msg = f"The profile {str(path)!r} is not valid TOML: {exc}."
        raise ProfileError(msg) from exc

    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        msg = f"The profile {str(path)!r} is invalid: {problems}."
        raise ProfileError(msg) from exc


def resolve_credentials(
    profile: Profile,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, dict[str, str]]:
    """Scheme name to ``{field: secret}``, read from the variables the profile names."""
    resolved: dict[str, dict[str, str]] = {}
    for scheme, ref in profile.credentials.items():
        values: dict[str, str] = {}
        for field_name, variable in ref.variable_names().items():
            value = environ.get(variable)
            if not value:
                msg = (
                    f"The profile's credentials.{scheme}.{field_name} names the variable "
                    f"{variable!r}, which is not set. Export it before running the suite."
                )
                raise ProfileError(msg)
            values[field_name.removesuffix("_env")] = value
        resolved[scheme] = values

    return resolved


def _describe(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ())) or "(top level)"
    return f"{location}: {error.get('msg', 'invalid')}"
