"""RES, CFG, HLT-02 and HLT-04 pass on the reference and fail on variants lacking one pattern.

Every run uses the demo profile, whose test-mode timeouts (2 s header, 3 s read, 5 s
idle, 5 s grace) keep each run to seconds. Variants run through the launcher.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import REPO

DEMO_PROFILE = REPO / "reference_service" / "conformance.toml"
VARIANTS = REPO / "tests" / "targets" / "resilience_variants.py"
OWN_CHECKS = (
    "RES-01 or RES-02 or RES-03 or RES-04 or RES-05 or RES-06 or RES-07 or RES-08 "
    "or RES-09 or HLT-02 or HLT-04 or CFG-01 or CFG-02 or CFG-03"
)


def _run(
    pytester: pytest.Pytester, command: str, selection: str
) -> dict[str, list[dict[str, Any]]]:
    profile = pytester.makefile(".toml", conformance=DEMO_PROFILE.read_text())
    pytester.runpytest(
        "--profile", str(profile), "--target-cmd", command, "-k", selection
    )
    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    by_id: dict[str, list[dict[str, Any]]] = {}
    for entry in report["checks"]:
        by_id.setdefault(entry["id"], []).append(entry)
    return by_id


@pytest.mark.usefixtures("secrets_env")
def test_the_reference_passes_every_resilience_check_in_one_overlapping_run(
    pytester: pytest.Pytester,
) -> None:
    """The reference passes all fourteen checks, and their waits overlap."""
    started = time.monotonic()

    by_id = _run(pytester, f"{sys.executable} -m reference_service", OWN_CHECKS)

    elapsed = time.monotonic() - started
    assert len(by_id) == 14, sorted(by_id)
    outcomes = {i: [e["outcome"] for e in entries] for i, entries in by_id.items()}
    assert all(o == ["passed"] for o in outcomes.values()), outcomes
    # Run one after another the waits alone (2+2+3+5 s, drills, starts) pass 25 s.
    assert elapsed < 25, elapsed


@pytest.mark.usefixtures("secrets_env")
@pytest.mark.parametrize(
    ("variant", "check_id", "reason"),
    [
        ("no_read_timeouts", "RES-01", "header read timeout (2 s expected)"),
        ("no_read_timeouts", "RES-02", "the read timeout (3 s expected)"),
        ("no_idle_timeout", "RES-03", "the idle timeout (5 s expected)"),
        ("huge_header_limit", "RES-04", "were served with 200, not refused"),
        ("limited_concurrency", "RES-05", "answered 503"),
        ("exits_at_once", "RES-06", "the request in flight at SIGTERM failed"),
        ("never_unready", "RES-07", "readiness still answered 200"),
        ("never_unready", "HLT-04", "no moment of the shutdown had /readyz 503"),
        ("exits_without_flush", "RES-08", "no span reached the receiver before exit"),
        ("stream_blocks_exit", "RES-09", "the target still ran 5 s after SIGTERM"),
        ("health_ignores_dependencies", "HLT-02", "health answered 200, not 503"),
        ("health_hangs_on_stall", "HLT-02", "fault 'stall' health answered"),
        ("traceback_on_bad_configuration", "CFG-02", "printed a traceback"),
        ("traceback_on_bad_configuration", "CFG-03", "printed a traceback"),
        ("ignores_log_level", "CFG-01", "with LOG_LEVEL=warning the target still"),
    ],
)
def test_each_check_fails_on_the_variant_lacking_its_pattern(
    pytester: pytest.Pytester, variant: str, check_id: str, reason: str
) -> None:
    """Each variant fails its check with a message naming what is missing."""
    command = f"{sys.executable} {VARIANTS} {variant}"

    by_id = _run(pytester, command, check_id)

    entries = by_id[check_id]
    assert [e["outcome"] for e in entries] == ["failed"], entries
    assert reason in entries[0]["message"], entries[0]["message"]


@pytest.mark.usefixtures("secrets_env")
def test_destructive_checks_skip_without_a_launch_command(
    pytester: pytest.Pytester, serve: Callable[..., str]
) -> None:
    """Against a URL only, shutdown and configuration checks skip and say what to pass."""
    text = DEMO_PROFILE.read_text().replace(
        'command = "python -m reference_service"', ""
    )
    profile = pytester.makefile(".toml", conformance=text)
    url = serve("reference_service.app:create_app", factory=True)
    pytester.runpytest(
        "--profile", str(profile), "--target", url, "-k", "RES-06 or CFG-02 or HLT-02"
    )

    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    for entry in report["checks"]:
        assert entry["outcome"] == "skipped", entry
        assert "--target-cmd" in entry["message"], entry
