"""The report files one run writes, and the JSON contract CI gates rely on."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

PLAIN_APP = "tests.targets.plain_app:app"
CHECK_KEYS = {"id", "category", "title", "severity", "outcome", "message", "duration_s"}


@pytest.fixture
def plain_run(
    pytester: pytest.Pytester, serve: Callable[..., str], fast_profile: str
) -> pytest.RunResult:
    """The health and security checks against an app with none of the patterns."""
    url = serve(PLAIN_APP)
    return pytester.runpytest(
        "--target",
        url,
        "--profile",
        fast_profile,
        "-m",
        "health or security",
        "--junitxml",
        "junit.xml",
    )


def read_json(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (pytester.path / "reports" / "conformance.json").read_text()
    )
    return data


def test_a_failing_run_exits_1_and_writes_both_reports(
    plain_run: pytest.RunResult, pytester: pytest.Pytester
) -> None:
    """A target lacking the patterns fails the run and still gets both report files."""
    assert plain_run.ret == pytest.ExitCode.TESTS_FAILED
    assert (pytester.path / "reports" / "index.html").is_file()
    assert (pytester.path / "reports" / "conformance.json").is_file()
    assert "report written: reports/index.html" in plain_run.stdout.str()


def test_the_json_report_carries_the_contract_fields(
    plain_run: pytest.RunResult, pytester: pytest.Pytester
) -> None:
    """conformance.json has the catalogue's top-level fields and one entry per instance."""
    data = read_json(pytester)

    assert {"target", "started", "duration_s", "summary", "checks"} <= set(data)
    assert data["summary"]["outcomes"]["failed"] >= 2
    assert "health" in data["summary"]["categories"]
    for entry in data["checks"]:
        assert set(entry) >= CHECK_KEYS
        assert entry["outcome"] in ("passed", "failed", "skipped", "error")
    ids = [entry["id"] for entry in data["checks"]]
    assert ids.count("SEC-01") == 2, "one SEC-01 entry per operation of the plain app"


def test_a_skipped_check_is_not_counted_as_passed(
    plain_run: pytest.RunResult, pytester: pytest.Pytester
) -> None:
    """Skips carry their reason and stay out of the score."""
    data = read_json(pytester)

    skipped = [e for e in data["checks"] if e["outcome"] == "skipped"]
    assert skipped and all(e["message"] for e in skipped)
    outcomes = data["summary"]["outcomes"]
    decided = outcomes["passed"] + outcomes["failed"] + outcomes["error"]
    assert data["summary"]["score"] == round(100 * outcomes["passed"] / decided, 1)
    assert data["summary"]["score"] < 100


def test_the_html_report_is_self_contained(
    plain_run: pytest.RunResult, pytester: pytest.Pytester
) -> None:
    """index.html loads nothing from the network and carries a restrictive CSP."""
    html = (pytester.path / "reports" / "index.html").read_text()

    assert "Content-Security-Policy" in html
    assert "default-src 'none'" in html
    assert "<script" not in html
    assert 'src="http' not in html and 'href="http' not in html
    assert "<link" not in html
    assert "HLT-01" in html and "How to fix" in html


def test_junit_names_lead_with_the_check_id(
    plain_run: pytest.RunResult, pytester: pytest.Pytester
) -> None:
    """JUnit XML test case names start with the check ID."""
    tree = ET.parse(pytester.path / "junit.xml")

    names = [case.get("name", "") for case in tree.iter("testcase")]
    assert any(name.startswith("HLT-01 ") for name in names)
    assert any(name.startswith("SEC-01 ") for name in names)


def test_the_terminal_summary_names_failures_with_reasons(
    plain_run: pytest.RunResult,
) -> None:
    """The summary table shows each failing check with its one-line reason."""
    output = plain_run.stdout.str()

    assert "Conformance:" in output
    assert "GET /healthz answered 404, not 200" in output
    assert "public only because nothing was declared" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("selection", "expected_prefixes"),
    [
        (["-m", "health"], {"HLT"}),
        (["-m", "health or debug"], {"HLT", "DBG"}),
        (
            [
                "-m",
                "not (security or tracing or metrics or logs or resilience or configuration)",
            ],
            {"HLT", "DBG"},
        ),
        (["-k", "HLT-01 or SEC-01"], {"HLT", "SEC"}),
    ],
)
def test_checks_are_selected_by_category_and_id(
    pytester: pytest.Pytester,
    serve: Callable[..., str],
    fast_profile: str,
    selection: list[str],
    expected_prefixes: set[str],
) -> None:
    """Markers select categories and -k selects check IDs."""
    pytester.runpytest(
        "--target", serve(PLAIN_APP), "--profile", fast_profile, *selection
    )

    ids = {entry["id"] for entry in read_json(pytester)["checks"]}
    assert {i.split("-")[0] for i in ids} == expected_prefixes
    if selection[0] == "-k":
        assert ids == {"HLT-01", "SEC-01"}


def test_user_tests_given_as_arguments_run_beside_the_checks(
    pytester: pytest.Pytester, serve: Callable[..., str]
) -> None:
    """Explicit test paths are collected along with the built-in checks."""
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")

    url = serve(PLAIN_APP)
    result = pytester.runpytest("--target", url, "test_mine.py", "-k", "mine or HLT-01")

    deselected = result.parseoutcomes()["deselected"]
    result.assert_outcomes(passed=1, failed=1, deselected=deselected)
