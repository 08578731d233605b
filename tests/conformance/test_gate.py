"""The CI gate: by severity, and against a baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.gate import judge


def entry(
    check_id: str, outcome: str, severity: str = "error", instance: str = ""
) -> dict[str, Any]:
    return {
        "id": check_id,
        "outcome": outcome,
        "severity": severity,
        "instance": instance,
    }


NOW = [
    entry("SEC-01", "failed", instance="GET /a"),
    entry("SEC-01", "passed", instance="GET /b"),
    entry("HLT-01", "failed"),
    entry("SEC-11", "failed", severity="warning"),
    entry("TRC-01", "skipped"),
]


@pytest.mark.parametrize(
    ("fail_on", "fails", "counted"),
    [("error", True, 2), ("warning", True, 3), ("never", False, 2)],
)
def test_the_gate_follows_fail_on(fail_on: Any, fails: bool, counted: int) -> None:
    """error counts error-severity failures, warning adds warnings, never fails nothing."""
    verdict = judge(NOW, fail_on)

    assert verdict.fails is fails
    assert len(verdict.counted) == counted


def test_a_baseline_counts_only_regressions() -> None:
    """A check that failed before too does not fail the gate; a new failure does."""
    before = {
        "checks": [
            entry("SEC-01", "failed", instance="GET /a"),
            entry("HLT-01", "passed"),
        ]
    }

    verdict = judge(NOW, "error", before)

    assert verdict.fails
    assert verdict.counted == ["HLT-01"]


def test_the_gate_command_exits_by_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """python -m conformance gate exits 1 on counted failures and 0 with --fail-on never."""
    report = tmp_path / "conformance.json"
    report.write_text(json.dumps({"checks": NOW}))

    assert main(["gate", str(report)]) == 1
    assert main(["gate", str(report), "--fail-on", "never"]) == 0
    assert main(["gate", str(tmp_path / "missing.json")]) == 4
    assert "not a readable conformance.json" in capsys.readouterr().err
