"""Whole runs against targets that hang, reset, drip or lie end in bounded time, cleanly."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest

from tests.targets.hostile import (
    HOSTILE_TARGETS,
    INVALID_YAML_DOCUMENT,
    Hostile,
    hostile_target,
    huge_document,
)

REQUEST_TIMEOUT_S: Final = 1.0
# A run that gets no answer at all makes this many requests one after another at most
# (reach, discovery, then a few per check); the rest waits in background threads.
SEQUENTIAL_PROBES: Final = 40
STARTUP_S: Final = 20.0
RUN_BOUND_S: Final = STARTUP_S + SEQUENTIAL_PROBES * REQUEST_TIMEOUT_S

SHORT_PROFILE: Final = f"""
[target]
request_timeout_s = {REQUEST_TIMEOUT_S}

[expect]
header_timeout_s = 1
read_timeout_s = 1
idle_timeout_s = 1
shutdown_grace_s = 2
auth_attempt_limit = 3

[tracing]
flush_window_s = 1

[metrics]
flush_window_s = 1

[fuzzing]
examples_per_operation = 3
budget_s = 3
"""
# Targets that never give one valid HTTP answer: nothing can pass against them.
SPEAKS_NO_HTTP: Final = {
    "silent",
    "resets",
    "garbage",
    "unfinished-headers",
    "huge-headers",
    "drip",
    "tls-on-plain-port",
}
OUTCOMES: Final = {"passed", "failed", "skipped", "error"}


def assert_clean_output(result: pytest.RunResult) -> str:
    """No raw traceback or internal error reached the terminal."""
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output, output[-3000:]
    assert "INTERNALERROR" not in output, output[-3000:]
    return output


def read_checks(directory: Path) -> list[dict[str, Any]]:
    report = json.loads((directory / "reports" / "conformance.json").read_text())
    checks: list[dict[str, Any]] = report["checks"]
    return checks


@pytest.fixture
def short_profile(pytester: pytest.Pytester) -> Path:
    return pytester.makefile(".toml", conformance=SHORT_PROFILE)


@pytest.mark.parametrize("hostile", HOSTILE_TARGETS, ids=lambda h: h.name)
def test_a_run_against_a_hostile_target_ends_in_time(
    pytester: pytest.Pytester, short_profile: Path, hostile: Hostile
) -> None:
    """A full run finishes within its computed bound with one-line verdicts and no traceback."""
    with hostile_target(hostile) as server:
        started = time.monotonic()
        result = pytester.runpytest(
            "--target", server.url, "--profile", str(short_profile)
        )
        elapsed = time.monotonic() - started

    output = assert_clean_output(result)
    assert elapsed < RUN_BOUND_S, f"{hostile.name} took {elapsed:.1f} s"
    assert result.ret in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.USAGE_ERROR)
    if result.ret == pytest.ExitCode.USAGE_ERROR:
        assert "ERROR:" in output
        return

    assert "Conformance:" in output
    checks = read_checks(pytester.path)
    assert checks
    for entry in checks:
        assert entry["outcome"] in OUTCOMES
        if entry["outcome"] != "passed":
            assert entry["message"].strip(), entry
            assert "\n" not in entry["message"].strip(), entry
    if hostile.name in SPEAKS_NO_HTTP:
        passed = [e["id"] for e in checks if e["outcome"] == "passed"]
        assert not passed, f"{hostile.name}: {passed} passed"


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("invalid", lambda: INVALID_YAML_DOCUMENT, "neither JSON nor YAML"),
        ("huge", huge_document, "larger than"),
    ],
    ids=["invalid-yaml", "huge"],
)
def test_a_broken_named_document_stops_the_run_at_once(
    pytester: pytest.Pytester,
    short_profile: Path,
    name: str,
    text: Callable[[], str],
    fragment: str,
) -> None:
    """--openapi naming an unparsable or oversized file is a one-line usage error."""
    document = pytester.path / f"{name}.yaml"
    document.write_text(text())
    hostile = next(h for h in HOSTILE_TARGETS if h.name == "wrong-types")

    with hostile_target(hostile) as server:
        started = time.monotonic()
        result = pytester.runpytest(
            "--target",
            server.url,
            "--profile",
            str(short_profile),
            "--openapi",
            str(document),
        )
        elapsed = time.monotonic() - started

    output = assert_clean_output(result)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output[-2000:]
    assert fragment in output
    assert elapsed < STARTUP_S
