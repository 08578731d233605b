"""TRC-01 to TRC-10 fail on reference variants whose tracing lacks one pattern each.

The reference service itself passes every tracing check in the end-to-end test; here
each variant runs through the launcher, exporting to the run's own receiver.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.support import REPO

DEMO_PROFILE = REPO / "reference_service" / "conformance.toml"
WINDOW_S = 3


def variant_command(name: str) -> str:
    return (
        f"{sys.executable} -m uvicorn --app-dir {REPO} --factory "
        f"tests.targets.tracing_variants:{name} --host 127.0.0.1 --port {{port}} "
        "--log-level warning"
    )


@pytest.fixture
def profile_path(pytester: pytest.Pytester) -> str:
    """The demo profile with a short flush window, so failing waits end sooner."""
    text = DEMO_PROFILE.read_text().replace(
        "flush_window_s = 10", f"flush_window_s = {WINDOW_S}"
    )
    return str(pytester.makefile(".toml", conformance=text))


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize(
    ("variant", "check_id", "reason"),
    [
        ("untraced", "TRC-01", "no SERVER span for the probe arrived"),
        ("traced_twice", "TRC-01", "produced 2 SERVER spans"),
        ("ignores_traceparent", "TRC-02", "did not join the sent trace"),
        (
            "samples_regardless_of_parent",
            "TRC-03",
            "of an unsampled trace were exported",
        ),
        ("span_names_from_raw_paths", "TRC-04", "the raw path is used"),
        ("errors_not_recorded", "TRC-05", "without an exception event or error.type"),
        ("unnamed_service", "TRC-06", "the resource does not name the service"),
        (
            "business_span_without_attributes",
            "TRC-07",
            "lacks the attribute 'order.id'",
        ),
        ("outgoing_calls_without_context", "TRC-09", "it carried no traceparent"),
        ("fails_on_malformed_traceparent", "TRC-10", "answered 500"),
    ],
)
def test_tracing_checks_fail_on_variants_lacking_the_pattern(
    pytester: pytest.Pytester,
    profile_path: str,
    variant: str,
    check_id: str,
    reason: str,
) -> None:
    """Each variant fails its check with a message naming what is missing."""
    result = pytester.runpytest(
        "--profile",
        profile_path,
        "--target-cmd",
        variant_command(variant),
        "-k",
        check_id,
    )

    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    entries = [c for c in report["checks"] if c["id"] == check_id]
    assert [c["outcome"] for c in entries] == ["failed"], entries
    assert reason in entries[0]["message"]
    assert result.ret == pytest.ExitCode.TESTS_FAILED
