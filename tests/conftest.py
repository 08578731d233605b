"""Shared fixtures: servers the tests start on loopback, and the secrets they use."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from conformance.launcher import Launcher, LaunchSpec

REPO = Path(__file__).resolve().parents[1]
TEST_SECRETS = {
    "BASIC_AUTH_USER": "tester",
    "BASIC_AUTH_PASSWORD": "pw-Canary-7f3a9c1e",
    "API_KEYS": "key-Canary-2b8d4e6f",
    "JWT_SECRET": "jwt-Canary-9a1c5e7b3d",
}

Serve = Callable[..., str]


def uvicorn_command(app: str, factory: bool = False) -> str:
    """Run ``app`` (``module:attribute`` under ``tests/targets``) on the launcher's port."""
    flags = "--factory " if factory else ""
    return (
        f"{sys.executable} -m uvicorn --app-dir {REPO} {flags}{app} "
        "--host 127.0.0.1 --port {port} --log-level warning --no-access-log"
    )


def reference_env(instance_dir: str = "{instance_dir}") -> dict[str, str]:
    return {
        **TEST_SECRETS,
        "DATABASE_URL": f"sqlite:///{instance_dir}/orders.db",
        "LOG_LEVEL": "info",
    }


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
