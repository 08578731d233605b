"""HLT-01 and HLT-03 pass on the reference service and fail on variants lacking them."""

from __future__ import annotations

import pytest

from tests.support import RunSuite

REFERENCE = "reference_service.app:create_app"
VARIANTS = "tests.targets.variants"


def test_the_reference_service_passes_the_health_checks(run_suite: RunSuite) -> None:
    """The reference health endpoint has the guide's shape, is public, fast and discreet."""
    run = run_suite(REFERENCE, "-m", "health")

    assert run.outcomes("HLT-01") == ["passed"]
    assert run.outcomes("HLT-03") == ["passed"]
    assert run.result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize(
    ("variant", "check_id", "reason"),
    [
        ("health_plain_text", "HLT-01", "not JSON in an accepted health shape"),
        (
            "health_without_dependencies",
            "HLT-01",
            "does not name the declared dependencies",
        ),
        ("health_needs_credentials", "HLT-03", "without credentials answered 401"),
        ("health_leaks_connection_string", "HLT-03", "a URL with an embedded password"),
        ("health_slow", "HLT-03", "over the 1 s bound"),
    ],
)
def test_health_checks_fail_on_variants_lacking_the_pattern(
    run_suite: RunSuite, variant: str, check_id: str, reason: str
) -> None:
    """Each broken health endpoint fails its check with a message naming the problem."""
    run = run_suite(f"{VARIANTS}:{variant}", "-m", "health")

    assert run.outcomes(check_id) == ["failed"]
    assert reason in run.messages(check_id)
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED
    assert "hunter2-leaked" not in run.result.stdout.str()
