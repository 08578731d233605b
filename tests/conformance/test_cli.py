"""python -m conformance init and merge, end to end against real services."""

from __future__ import annotations

import json
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.launcher import Launcher, LaunchSpec, free_port
from tests.support import REPO, reference_env

VARIANTS = "tests.targets.variants"


def test_init_writes_a_profile_that_makes_the_suite_pass(
    pytester: pytest.Pytester, tmp_path: Path, secrets_env: dict[str, str]
) -> None:
    """The profile init writes for the reference service passes the suite, with no secret in it."""
    receiver = free_port()
    launcher = Launcher(
        LaunchSpec(
            command=f"{sys.executable} -m reference_service",
            address_env={"HTTP_ADDR": "{host}:{port}"},
            env=reference_env(),
            ready_path="/readyz",
            startup_timeout_s=30,
            cwd=REPO,
        ),
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{receiver}",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        },
    )
    with launcher.running() as target:
        profile = tmp_path / "conformance.toml"
        assert main(["init", "--target", target.base_url, "-o", str(profile)]) == 0
        text = profile.read_text()

        # Resilience probes wait out the guide's timeouts the reference keeps by default
        # (120 s idle); they are proven against test-mode timeouts elsewhere.
        result = pytester.runpytest(
            "--profile",
            str(profile),
            "--otlp-http",
            f"127.0.0.1:{receiver}",
            "-m",
            "not resilience",
        )

    parsed = tomllib.loads(text)
    assert parsed["health"] == {
        "path": "/healthz",
        "readiness_path": "/readyz",
        "liveness_path": "/livez",
    }
    assert "[credentials.basic]" in text and "BASIC_PASSWORD" in text
    for secret in secrets_env.values():
        assert secret not in text
    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    problems = [c for c in report["checks"] if c["outcome"] in ("failed", "error")]
    assert problems == [], problems
    assert result.ret == pytest.ExitCode.OK


def test_init_refuses_to_overwrite_and_needs_a_source(tmp_path: Path) -> None:
    """init says what is missing instead of writing a useless or clobbering file."""
    existing = tmp_path / "conformance.toml"
    existing.write_text("# mine\n")

    assert main(["init", "-o", str(existing)]) == 4
    assert main(["init", "--openapi", "x.json", "-o", str(existing)]) == 4
    assert existing.read_text() == "# mine\n"


def test_merge_shows_the_fleet(
    pytester: pytest.Pytester, serve: Callable[..., str], tmp_path: Path
) -> None:
    """Reports of the reference and of broken variants merge into one page and JSON."""
    reports = []
    for name, app in [
        ("reference", "reference_service.app:create_app"),
        ("no-challenge", f"{VARIANTS}:no_challenge"),
        ("forbidden", f"{VARIANTS}:forbidden_without_credentials"),
        ("plain", "tests.targets.plain_app:app"),
    ]:
        directory = tmp_path / name
        pytester.runpytest(
            "--target",
            serve(app, factory=app.endswith("create_app") or app.startswith(VARIANTS)),
            "-m",
            "security or health",
            "--report-dir",
            str(directory),
        )
        reports.append(str(directory / "conformance.json"))

    assert main(["merge", *reports, "-o", str(tmp_path / "fleet")]) == 0

    fleet = json.loads((tmp_path / "fleet" / "fleet.json").read_text())
    assert len(fleet["services"]) == 4
    failing = {s["source"].split("/")[-2]: s["failing"] for s in fleet["services"]}
    assert "SEC-02" in failing["forbidden"]
    assert "HLT-01" in failing["plain"]
    page = (tmp_path / "fleet" / "index.html").read_text()
    assert "Failing across most of the fleet" in page and "default-src 'none'" in page
