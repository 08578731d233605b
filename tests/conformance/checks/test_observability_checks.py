"""MET, DBG and LOG checks fail on reference variants lacking one pattern each.

The reference service itself passes them in the end-to-end test; here each variant is
started by the launcher through ``python -m tests.targets.observability_variants``.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from tests.support import REPO

DEMO_PROFILE = REPO / "reference_service" / "conformance.toml"


@pytest.fixture
def profile_path(pytester: pytest.Pytester) -> str:
    """The demo profile with a short metrics window, so failing waits end sooner."""
    text = DEMO_PROFILE.read_text().replace("flush_window_s = 15", "flush_window_s = 4")
    return str(pytester.makefile(".toml", conformance=text))


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize(
    ("variant", "check_id", "reason"),
    [
        ("counter_goes_backwards", "MET-01", "went backwards between two scrapes"),
        ("latency_in_milliseconds", "MET-02", "the values are not seconds"),
        ("millisecond_buckets", "MET-02", "buckets do not resolve both 5 ms and 5 s"),
        ("counter_without_total", "MET-03", "counter without the _total suffix"),
        ("raw_path_labels", "MET-04", "labelled with the raw ids or paths"),
        ("debug_switch_ignored", "DBG-01", "0 debug entries while on"),
        ("no_profiler", "DBG-02", "no profiling endpoint"),
        ("debug_without_credentials", "DBG-03", "without credentials"),
    ],
)
def test_observability_checks_fail_on_variants_lacking_the_pattern(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    profile_path: str,
    variant: str,
    check_id: str,
    reason: str,
) -> None:
    """Each variant fails its check with a message naming what is missing."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    command = f"{sys.executable} -m tests.targets.observability_variants {variant}"
    result = pytester.runpytest(
        "--profile", profile_path, "--target-cmd", command, "-k", check_id
    )

    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    entries = [c for c in report["checks"] if c["id"] == check_id]
    assert [c["outcome"] for c in entries] == ["failed"], entries
    assert reason in entries[0]["message"]
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def _run_variant(
    pytester: pytest.Pytester, profile_path: str, variant: str, *args: str
) -> tuple[pytest.RunResult, dict[str, dict[str, str]]]:
    command = f"{sys.executable} -m tests.targets.observability_variants {variant}"
    result = pytester.runpytest(
        "--profile", profile_path, "--target-cmd", command, *args
    )
    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    return result, {c["id"]: c for c in report["checks"]}


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize(
    ("variant", "reasons"),
    [
        (
            "server_access_log",
            {"LOG-01": "lines are not JSON objects", "LOG-02": "was logged 2 times"},
        ),
        ("untraced_access_line", {"LOG-03": "carries no trace id"}),
        ("untraced_traceback", {"LOG-03": "an entry of POST /orders carries no trace"}),
        ("failure_logged_as_warning", {"LOG-04": "logged no error-level entry"}),
        (
            "authorization_logged",
            {
                "LOG-05": "the Basic password canary appeared",
                "LOG-07": "refused basic credential was logged",
            },
        ),
        (
            "auth_failures_unlogged",
            {"LOG-07": "not logged as an authentication failure"},
        ),
        ("json_on_terminal", {"LOG-06": "on a terminal are JSON"}),
    ],
)
def test_log_checks_fail_on_variants_lacking_the_pattern(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    profile_path: str,
    variant: str,
    reasons: dict[str, str],
) -> None:
    """Each log variant fails exactly the checks of the pattern it lacks, saying why."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    selection = " or ".join(reasons)
    result, by_id = _run_variant(pytester, profile_path, variant, "-k", selection)

    assert {i: by_id[i]["outcome"] for i in reasons} == dict.fromkeys(reasons, "failed")
    for check_id, reason in reasons.items():
        assert reason in by_id[check_id]["message"], by_id[check_id]
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.usefixtures("secrets_env")
def test_canaries_found_in_logs_never_reach_the_reports(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, profile_path: str
) -> None:
    """A query token in the access line fails LOG-05, and no report shows the canary."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    result, by_id = _run_variant(
        pytester,
        profile_path,
        "token_in_access_line",
        "--junitxml",
        "junit.xml",
        "-k",
        "LOG-02 or LOG-05",
    )

    assert by_id["LOG-05"]["outcome"] == "failed"
    assert "the ?token= query value canary appeared" in by_id["LOG-05"]["message"]
    reports = pytester.path / "reports"
    texts = {
        "terminal": result.stdout.str(),
        "index.html": (reports / "index.html").read_text(),
        "conformance.json": (reports / "conformance.json").read_text(),
        "junit.xml": (pytester.path / "junit.xml").read_text(),
    }
    assert "[REDACTED]" in texts["conformance.json"]
    canary = re.compile(r"canary-[a-z]+-[0-9a-f]{16}")
    found = {name: canary.findall(text) for name, text in texts.items()}
    assert found == {name: [] for name in texts}
