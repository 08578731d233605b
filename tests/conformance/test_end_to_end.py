"""Whole runs: the reference service through the launcher, and a plain app."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest

from tests.support import REPO

DEMO_PROFILE = REPO / "reference_service" / "conformance.toml"


@pytest.mark.usefixtures("secrets_env")
def test_the_reference_service_passes_every_check_through_the_launcher(
    pytester: pytest.Pytester,
) -> None:
    """The demo profile launches the reference service and every check passes but TLS."""
    command = f"{sys.executable} -m reference_service"

    result = pytester.runpytest("--profile", str(DEMO_PROFILE), "--target-cmd", command)

    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    not_passed = [c for c in report["checks"] if c["outcome"] != "passed"]
    # Plain HTTP on loopback: TLS is checked by a test that serves the reference over it.
    assert [(c["id"], c["outcome"]) for c in not_passed] == [("SEC-09", "skipped")], (
        not_passed
    )
    assert {c["id"] for c in report["checks"]} >= {
        "HLT-01",
        "HLT-03",
        "SEC-01",
        "SEC-02",
        "SEC-06",
    }
    assert result.ret == pytest.ExitCode.OK
    for secret in (
        "pw-Canary-7f3a9c1e",
        "key-Canary-2b8d4e6f",
        "jwt-Canary-9a1c5e7b3d",
    ):
        assert secret not in result.stdout.str()
        assert secret not in (pytester.path / "reports" / "index.html").read_text()


def test_a_plain_app_runs_to_the_end_with_clear_failures(
    pytester: pytest.Pytester, serve: Callable[..., str], fast_profile: str
) -> None:
    """An app with none of the patterns gets a verdict per check, and no traceback."""
    result = pytester.runpytest(
        "--target", serve("tests.targets.plain_app:app"), "--profile", fast_profile
    )

    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["HLT-01"]["outcome"] == "failed"
    assert by_id["SEC-01"]["outcome"] == "failed"
    assert by_id["SEC-02"]["outcome"] == "skipped"
    assert "declares no secured operation" in by_id["SEC-02"]["message"]
    assert all(c["outcome"] != "error" for c in report["checks"])
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
