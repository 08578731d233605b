"""Shared fixtures: servers the tests start on loopback, and the secrets they use."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping

# httpx imports httpcore when its first client is built. Were that inside a test that
# uses pytester, pytester's restore of sys.modules would drop httpcore, and the next
# import would make new exception classes that httpx no longer translates. Importing
# it here, before any test, keeps one copy for the whole session.
import httpcore  # noqa: F401
import pytest

from conformance.launcher import Launcher, LaunchSpec
from tests.support import (
    FAST_PROFILE,
    REPO,
    TEST_SECRETS,
    RunSuite,
    SuiteRun,
    reference_env,
)

Serve = Callable[..., str]


def uvicorn_command(app: str, factory: bool = False) -> str:
    """Run ``app`` (``module:attribute`` under ``tests/targets``) on the launcher's port."""
    flags = "--factory " if factory else ""
    return (
        f"{sys.executable} -m uvicorn --app-dir {REPO} {flags}{app} "
        "--host 127.0.0.1 --port {port} --log-level warning --no-access-log"
    )


@pytest.fixture(scope="session")
def serve() -> Iterator[Serve]:
    """Start a test target once per session and give its base URL."""
    launchers: list[Launcher] = []
    urls: dict[tuple[str, bool], str] = {}

    def start(
        app: str, factory: bool = False, env: Mapping[str, str] | None = None
    ) -> str:
        key = (app, factory)
        if key not in urls:
            launcher = Launcher(
                LaunchSpec(
                    command=uvicorn_command(app, factory),
                    address_env={"HTTP_ADDR": "{host}:{port}"},
                    env=env if env is not None else reference_env(),
                    ready_path=None,
                    startup_timeout_s=30,
                    cwd=REPO,
                )
            )
            launchers.append(launcher)
            urls[key] = launcher.start().base_url
        return urls[key]

    yield start
    for launcher in launchers:
        launcher.stop_all(grace_s=5)


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The reference service's credential variables, set for the test."""
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    return dict(TEST_SECRETS)


CHECK_PROFILE = """
[health]
path = "/healthz"

[[dependencies]]
name = "database"
kind = "embedded"
env = "DATABASE_URL"
"""


@pytest.fixture
def run_suite(pytester: pytest.Pytester, serve: Serve) -> RunSuite:
    """Serve a target app and run the suite against it with a small profile."""
    profile = pytester.makefile(".toml", conformance=CHECK_PROFILE)

    def run(app: str, *args: str, factory: bool = True) -> SuiteRun:
        url = serve(app, factory=factory)
        result = pytester.runpytest("--target", url, "--profile", str(profile), *args)
        report_path = pytester.path / "reports" / "conformance.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
        return SuiteRun(result, report)

    return run


@pytest.fixture(autouse=True)
def any_free_receiver_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Suite runs inside tests bind their OTLP receivers to free ports, not 4317/4318."""
    monkeypatch.setenv("CONFORMANCE_OTLP_HTTP", "127.0.0.1:0")
    monkeypatch.setenv("CONFORMANCE_OTLP_GRPC", "127.0.0.1:0")


@pytest.fixture
def fast_profile(pytester: pytest.Pytester) -> str:
    """A profile with short windows for runs against targets that lack the patterns."""
    return str(pytester.makefile(".toml", fast=FAST_PROFILE))
