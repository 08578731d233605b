"""Every option, resolved in one place into one frozen :class:`Settings`.

Precedence: command line, then environment (``CONFORMANCE_*``), then the profile file,
then the guide's defaults. An invalid value's error names where it came from.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from conformance.errors import UsageError
from conformance.gate import FailOn, parse_fail_on
from conformance.profile import Profile, load_profile, resolve_credentials

ENVIRONMENT: Final = {
    "target": "CONFORMANCE_TARGET",
    "target_cmd": "CONFORMANCE_TARGET_CMD",
    "openapi": "CONFORMANCE_OPENAPI",
    "profile": "CONFORMANCE_PROFILE",
    "report_dir": "CONFORMANCE_REPORT_DIR",
    "fail_on": "CONFORMANCE_FAIL_ON",
    "baseline": "CONFORMANCE_BASELINE",
    "otlp_http": "CONFORMANCE_OTLP_HTTP",
    "otlp_grpc": "CONFORMANCE_OTLP_GRPC",
    "prometheus_url": "CONFORMANCE_PROMETHEUS_URL",
    "target_log_file": "CONFORMANCE_LOG_FILE",
}
DEFAULT_OTLP_HTTP: Final = "127.0.0.1:4318"
DEFAULT_OTLP_GRPC: Final = "127.0.0.1:4317"
DEFAULT_REPORT_DIR: Final = "reports"


class Credentials:
    """Secrets by security scheme name; its repr never shows them."""

    def __init__(self, by_scheme: Mapping[str, Mapping[str, str]]) -> None:
        self._by_scheme = {name: dict(values) for name, values in by_scheme.items()}

    def for_scheme(self, name: str) -> dict[str, str] | None:
        values = self._by_scheme.get(name)
        return dict(values) if values is not None else None

    def schemes(self) -> list[str]:
        return sorted(self._by_scheme)

    def secrets(self) -> list[str]:
        return [v for values in self._by_scheme.values() for v in values.values()]

    def __repr__(self) -> str:
        return f"Credentials(schemes={self.schemes()!r})"


@dataclass(frozen=True)
class Settings:
    """The effective configuration of one run."""

    target_url: str | None
    target_cmd: str | None
    openapi: str | None
    report_dir: Path
    strict: bool
    profile: Profile
    fail_on: FailOn = "error"
    baseline: Path | None = None
    profile_path: Path | None = None
    credentials: Credentials = field(default_factory=lambda: Credentials({}))
    otlp_http: str = DEFAULT_OTLP_HTTP
    otlp_grpc: str = DEFAULT_OTLP_GRPC
    prometheus_url: str | None = None
    log_file: str | None = None

    @property
    def launches_target(self) -> bool:
        return self.target_cmd is not None


@dataclass(frozen=True)
class Sourced:
    """A value and the place it came from, for error messages."""

    value: str
    source: str


def is_active(options: Mapping[str, object], environ: Mapping[str, str]) -> bool:
    """Whether this run checks a target at all (otherwise the plugin stays silent)."""
    names = ("target", "target_cmd", "profile")
    return any(options.get(n) for n in names) or any(
        environ.get(ENVIRONMENT[n]) for n in names
    )


def resolve_settings(
    options: Mapping[str, object],
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Build the run's settings from the command line, the environment and the profile."""
    profile_choice = _pick("profile", options, environ, None)
    profile_path = Path(profile_choice.value) if profile_choice else None
    profile = load_profile(profile_path) if profile_path else Profile()
    profile_dir = profile_path.parent if profile_path else Path.cwd()

    target = _pick(
        "target", options, environ, ("profile target.url", profile.target.url)
    )
    command = _pick(
        "target_cmd",
        options,
        environ,
        ("profile target.command", profile.target.command),
    )
    openapi = _pick(
        "openapi", options, environ, ("profile target.openapi", profile.target.openapi)
    )
    report_dir = _pick(
        "report_dir", options, environ, ("profile report.dir", profile.report.dir)
    )
    baseline = _pick("baseline", options, environ, None)
    chosen = _pick(
        "fail_on", options, environ, ("profile report.fail_on", profile.report.fail_on)
    )
    fail_on = parse_fail_on(chosen.value, chosen.source) if chosen else "error"
    strict = (
        bool(options.get("strict")) or profile.report.strict or fail_on == "warning"
    )
    if strict and fail_on == "error":
        fail_on = "warning"
    otlp_http = _pick("otlp_http", options, environ, None)
    otlp_grpc = _pick("otlp_grpc", options, environ, None)
    prometheus_url = _pick("prometheus_url", options, environ, None)
    log_file = _pick(
        "target_log_file", options, environ, ("profile logs.file", profile.logs.file)
    )

    if target is None and command is None:
        msg = (
            "No target given. Pass --target URL for a running service, or --target-cmd "
            "'COMMAND' for one the suite launches (or set them in the profile)."
        )
        raise UsageError(msg)
    if target is not None:
        _validate_url(target)
    credentials = Credentials(resolve_credentials(profile, environ))
    if target is not None and credentials.schemes():
        _refuse_plain_credentials(target, options)
    if openapi is not None and openapi.source.startswith("profile"):
        openapi = Sourced(_relative_to(openapi.value, profile_dir), openapi.source)

    return Settings(
        target_url=target.value.rstrip("/") if target else None,
        target_cmd=command.value if command else None,
        openapi=openapi.value if openapi else None,
        report_dir=Path(report_dir.value if report_dir else DEFAULT_REPORT_DIR),
        strict=strict,
        fail_on=fail_on,
        baseline=Path(baseline.value) if baseline else None,
        profile=profile,
        profile_path=profile_path,
        credentials=credentials,
        otlp_http=otlp_http.value if otlp_http else DEFAULT_OTLP_HTTP,
        otlp_grpc=otlp_grpc.value if otlp_grpc else DEFAULT_OTLP_GRPC,
        prometheus_url=prometheus_url.value if prometheus_url else None,
        log_file=log_file.value if log_file else None,
    )


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pick(
    name: str,
    options: Mapping[str, object],
    environ: Mapping[str, str],
    profile_value: tuple[str, str | None] | None,
) -> Sourced | None:
    option = options.get(name)
    if isinstance(option, str) and option:
        return Sourced(option, f"--{name.replace('_', '-')}")

    variable = ENVIRONMENT[name]
    if environ.get(variable):
        return Sourced(environ[variable], variable)

    if profile_value is not None and profile_value[1]:
        return Sourced(profile_value[1], profile_value[0])

    return None


def _validate_url(target: Sourced) -> None:
    parts = urlsplit(target.value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = (
            f"The target URL {target.value!r} from {target.source} is not an http(s) URL "
            "with a host. Give it as http://HOST:PORT or https://HOST."
        )
        raise UsageError(msg)
    try:
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError as exc:
        msg = (
            f"The target URL {target.value!r} from {target.source} has an invalid port."
        )
        raise UsageError(msg) from exc


def _refuse_plain_credentials(target: Sourced, options: Mapping[str, object]) -> None:
    """Credentials over plain HTTP to another host would cross the network in clear."""
    parts = urlsplit(target.value)
    if parts.scheme != "http" or is_loopback_url(target.value):
        return
    if options.get("allow_insecure_credentials"):
        return
    msg = (
        f"Refusing to send the profile's credentials in clear to {target.value!r} "
        f"(from {target.source}): it is plain http and not on loopback. Use https, "
        "or pass --allow-insecure-credentials if the network is trusted."
    )
    raise UsageError(msg)


def _relative_to(value: str, base: Path) -> str:
    if "://" in value or Path(value).is_absolute():
        return value
    return str(base / value)
