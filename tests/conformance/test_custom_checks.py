"""The worked example of docs/custom-checks.md runs beside the built-in checks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from tests.support import REPO

GUIDE = REPO / "docs" / "custom-checks.md"


def example_code() -> str:
    """The first Python block of the guide, exactly as users read it."""
    match = re.search(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    assert match is not None
    return match.group(1)


def test_a_custom_check_appears_in_every_report(
    pytester: pytest.Pytester, serve: Callable[..., str]
) -> None:
    """ACME-01 from the guide shows in the terminal, index.html and conformance.json."""
    checks = pytester.mkdir("checks")
    (checks / "test_house_rules.py").write_text(example_code())

    result = pytester.runpytest(
        "--target",
        serve("tests.targets.plain_app:app"),
        "checks/",
        "--junitxml",
        "j.xml",
    )

    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    [entry] = [c for c in report["checks"] if c["id"] == "ACME-01"]
    assert entry["category"] == "house"
    assert entry["severity"] == "warning"
    assert entry["outcome"] == "failed"
    assert "no X-Owner header" in entry["message"]
    assert "ACME-01" in (pytester.path / "reports" / "index.html").read_text()
    assert "ACME-01" in result.stdout.str()
    assert (
        "ACME-01 test_responses_name_the_owner" in (pytester.path / "j.xml").read_text()
    )


def test_custom_checks_are_selected_by_their_category_and_id(
    pytester: pytest.Pytester, serve: Callable[..., str]
) -> None:
    """-m with the custom category runs only the custom check, with no unknown-mark warning."""
    checks = pytester.mkdir("checks")
    (checks / "test_house_rules.py").write_text(example_code())

    result = pytester.runpytest(
        "--target",
        serve("tests.targets.plain_app:app"),
        "checks/",
        "-m",
        "house",
        "--strict-markers",
    )

    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    assert [c["id"] for c in report["checks"]] == ["ACME-01"]
    assert "PytestUnknownMarkWarning" not in result.stdout.str()
