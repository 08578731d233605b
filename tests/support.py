"""Types and helpers the tests share (fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


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
