"""Credentials stay out of every output, and never cross the network in clear."""

from __future__ import annotations

import re
import sys
import time
from typing import Final

import pytest

from conformance.errors import UsageError
from conformance.settings import resolve_settings
from tests.support import REPO, TEST_SECRETS

DEMO_PROFILE: Final = REPO / "reference_service" / "conformance.toml"
# Checks that send every kind of credential and the run's canary secrets.
CREDENTIAL_CHECKS: Final = "SEC-03 or SEC-04 or SEC-07 or LOG-05 or LOG-07 or HLT-03"
CANARY: Final = re.compile(r"canary-[\w-]*?[0-9a-f]{16}")
NOT_SECRET: Final = {"BASIC_AUTH_USER"}


@pytest.mark.usefixtures("secrets_env")
def test_no_output_of_a_run_holds_a_credential_or_canary(
    pytester: pytest.Pytester,
) -> None:
    """index.html, conformance.json, JUnit XML and the terminal carry no secret."""
    command = f"{sys.executable} -m reference_service"

    result = pytester.runpytest(
        "--profile",
        str(DEMO_PROFILE),
        "--target-cmd",
        command,
        "--junitxml",
        "junit.xml",
        "-k",
        CREDENTIAL_CHECKS,
    )

    reports = pytester.path / "reports"
    outputs = {
        "terminal": result.stdout.str() + result.stderr.str(),
        "index.html": (reports / "index.html").read_text(),
        "conformance.json": (reports / "conformance.json").read_text(),
        "junit.xml": (pytester.path / "junit.xml").read_text(),
    }
    assert "LOG-05" in outputs["conformance.json"], "the canary check did not run"
    secrets = [v for k, v in TEST_SECRETS.items() if k not in NOT_SECRET]
    for name, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} appears in {name}"
        assert not CANARY.findall(text), f"canaries in {name}: {CANARY.findall(text)}"


@pytest.mark.usefixtures("secrets_env")
def test_credentials_are_not_sent_in_clear_off_loopback(
    pytester: pytest.Pytester,
) -> None:
    """A plain-http target off loopback with credentials is refused before any probe."""
    started = time.monotonic()
    # 198.51.100.0/24 is TEST-NET-2 (RFC 5737): nothing may ever be sent there.
    result = pytester.runpytest(
        "--profile", str(DEMO_PROFILE), "--target", "http://198.51.100.7:8080"
    )
    elapsed = time.monotonic() - started

    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert "Refusing to send the profile's credentials in clear" in output
    assert "--allow-insecure-credentials" in output
    assert "Traceback" not in output
    # A connection attempt to an unrouted address would take seconds to fail.
    assert elapsed < 15
    assert not (pytester.path / "reports").exists()


@pytest.mark.usefixtures("secrets_env")
def test_the_refusal_can_be_overridden_explicitly() -> None:
    """--allow-insecure-credentials lifts the refusal (checked at settings time only)."""
    options = {"profile": str(DEMO_PROFILE), "target": "http://198.51.100.7:8080"}
    with pytest.raises(UsageError, match="in clear"):
        resolve_settings(options)

    allowed = resolve_settings({**options, "allow_insecure_credentials": True})
    assert allowed.target_url == "http://198.51.100.7:8080"
    assert allowed.credentials.schemes()
