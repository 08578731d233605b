"""Types and helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_SECRETS = {
    "BASIC_AUTH_USER": "tester",
    "BASIC_AUTH_PASSWORD": "pw-Canary-7f3a9c1e",
    "API_KEYS": "key-Canary-2b8d4e6f",
    "JWT_SECRET": "jwt-Canary-9a1c5e7b3d",
    "OAUTH_CLIENT_ID": "client-Canary-5d2e8f",
    "OAUTH_CLIENT_SECRET": "secret-Canary-4c7a1b9e",
}


def reference_env(instance_dir: str = "{instance_dir}") -> dict[str, str]:
    return {
        **TEST_SECRETS,
        "DATABASE_URL": f"sqlite:///{instance_dir}/orders.db",
        "LOG_LEVEL": "info",
    }


class SuiteRun:
    """One run of the suite in a pytester directory, with its JSON report."""

    def __init__(self, result: pytest.RunResult, report: dict[str, Any]) -> None:
        self.result = result
        self.report = report

    def outcomes(self, check_id: str) -> list[str]:
        return [c["outcome"] for c in self.report["checks"] if c["id"] == check_id]

    def entries(self, check_id: str) -> list[dict[str, Any]]:
        return [c for c in self.report["checks"] if c["id"] == check_id]

    def messages(self, check_id: str) -> str:
        return " | ".join(c["message"] for c in self.entries(check_id))


RunSuite = Callable[..., SuiteRun]


FAST_PROFILE = """
# Short windows and timeouts, so runs against targets that lack the patterns (and so
# make every wait run out) stay short.
[target]
request_timeout_s = 3

[tracing]
flush_window_s = 1

[metrics]
flush_window_s = 1

[expect]
header_timeout_s = 1
read_timeout_s = 1
idle_timeout_s = 1
shutdown_grace_s = 2

[logs]
settle_s = 0.3
pty_timeout_s = 5

[fuzzing]
examples_per_operation = 5
budget_s = 3
"""
