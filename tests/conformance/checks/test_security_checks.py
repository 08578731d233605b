"""SEC-01, SEC-02 and SEC-06 pass on the reference service and fail on broken variants."""

from __future__ import annotations

import pytest

from tests.support import RunSuite, SuiteRun

REFERENCE = "reference_service.app:create_app"
VARIANTS = "tests.targets.variants"


def failed_instances(run: SuiteRun, check_id: str) -> list[str]:
    return [e["instance"] for e in run.entries(check_id) if e["outcome"] == "failed"]


def test_the_reference_service_passes_the_security_checks(run_suite: RunSuite) -> None:
    """Every operation of the reference service declares, enforces and honours security."""
    run = run_suite(REFERENCE, "-m", "security")

    assert set(run.outcomes("SEC-01")) == {"passed"}
    assert len(run.outcomes("SEC-01")) == 10
    assert set(run.outcomes("SEC-02")) == {"passed"}
    assert {e["instance"] for e in run.entries("SEC-02")} == {
        "POST /orders",
        "GET /orders/{order_id}",
        "GET /orders/stream",
        "GET /users",
        "GET /users/admin",
        "GET /users/me",
    }
    assert set(run.outcomes("SEC-06")) == {"passed"}
    assert run.result.ret == pytest.ExitCode.OK


def test_an_api_without_a_default_fails_sec_01(run_suite: RunSuite) -> None:
    """Without the API-level default, operations that relied on it are flagged."""
    run = run_suite(f"{VARIANTS}:no_api_default", "-k", "SEC-01")

    assert sorted(failed_instances(run, "SEC-01")) == [
        "GET /orders/stream",
        "GET /orders/{order_id}",
        "POST /orders",
    ]
    assert "public only because nothing was declared" in run.messages("SEC-01")


def test_a_dangling_scheme_fails_sec_01(run_suite: RunSuite) -> None:
    """A requirement naming an undefined scheme is an error."""
    run = run_suite(f"{VARIANTS}:dangling_scheme", "-k", "SEC-01")

    assert failed_instances(run, "SEC-01") == ["GET /users"]
    assert "'sso', not defined in components.securitySchemes" in run.messages("SEC-01")


def test_403_for_missing_credentials_fails_sec_02(run_suite: RunSuite) -> None:
    """Answering 403 instead of 401 to an anonymous call is an error."""
    run = run_suite(f"{VARIANTS}:forbidden_without_credentials", "-k", "SEC-02")

    assert set(run.outcomes("SEC-02")) == {"failed"}
    assert "403 means authenticated but not allowed" in run.messages("SEC-02")
    assert run.result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_secured_operation_served_anonymously_fails_sec_02(
    run_suite: RunSuite,
) -> None:
    """A secured operation that answers 200 without credentials fails, alone."""
    run = run_suite(f"{VARIANTS}:secured_served_anonymously", "-k", "SEC-02")

    assert failed_instances(run, "SEC-02") == ["GET /users"]
    assert "served to an anonymous caller" in run.messages("SEC-02")


def test_a_missing_challenge_is_a_warning_unless_strict(run_suite: RunSuite) -> None:
    """A 401 without WWW-Authenticate is a warning: exit 0, but 1 with --strict."""
    lenient = run_suite(f"{VARIANTS}:no_challenge", "-k", "SEC-02")
    strict = run_suite(f"{VARIANTS}:no_challenge", "-k", "SEC-02", "--strict")

    warned = [e for e in lenient.entries("SEC-02") if e["severity"] == "warning"]
    assert {e["instance"] for e in warned} >= {"POST /orders", "GET /users/admin"}
    assert all(e["outcome"] == "failed" for e in warned)
    assert "without a WWW-Authenticate challenge" in lenient.messages("SEC-02")
    assert lenient.result.ret == pytest.ExitCode.OK
    assert strict.result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_public_operation_demanding_credentials_fails_sec_06(
    run_suite: RunSuite,
) -> None:
    """An operation declared public that answers 401 fails SEC-06."""
    run = run_suite(f"{VARIANTS}:public_requires_credentials", "-k", "SEC-06")

    assert failed_instances(run, "SEC-06") == ["GET /users/public"]
    assert "declared public but answered 401" in run.messages("SEC-06")
