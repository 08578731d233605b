"""The plugin's options and the usage errors a user can make."""

from __future__ import annotations

import sys

import pytest

from conformance.launcher import free_port

PLAIN_APP = "tests.targets.plain_app:app"


def assert_usage_error(result: pytest.RunResult, fragment: str) -> None:
    """Exit code 4, one clear message containing ``fragment``, no traceback."""
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output
    assert fragment in output
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output


def test_without_a_target_the_plugin_stays_silent(pytester: pytest.Pytester) -> None:
    """A run with no target collects the user's tests only and adds no summary."""
    pytester.makepyfile("def test_ok():\n    assert True\n")

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)
    assert "Conformance:" not in result.stdout.str()
    assert "conformance target" not in result.stdout.str()


def test_a_target_that_is_not_a_url_is_refused(pytester: pytest.Pytester) -> None:
    """A malformed target URL stops the run with a message naming the option."""
    result = pytester.runpytest("--target", "ftp://example.invalid")

    assert_usage_error(result, "from --target is not an http(s) URL")


def test_an_unreachable_target_is_refused(pytester: pytest.Pytester) -> None:
    """A target nothing listens on stops the run before any check."""
    result = pytester.runpytest("--target", f"http://127.0.0.1:{free_port()}")

    assert_usage_error(result, "cannot be reached")


def test_a_profile_that_is_not_toml_is_refused(pytester: pytest.Pytester) -> None:
    """A profile that does not parse stops the run with exit code 4."""
    profile = pytester.makefile(".toml", conformance="[target\nurl = 1")

    result = pytester.runpytest("--profile", str(profile))

    assert_usage_error(result, "is not valid TOML")


def test_a_profile_with_an_unknown_key_is_refused(pytester: pytest.Pytester) -> None:
    """A misspelt key is reported with its location rather than ignored."""
    profile = pytester.makefile(".toml", conformance="[health]\npaht = '/healthz'\n")

    result = pytester.runpytest(
        "--profile", str(profile), "--target", "http://127.0.0.1:9"
    )

    assert_usage_error(result, "health.paht")


def test_a_profile_naming_an_unset_variable_is_refused(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A credential variable that is not set is named in the one-line error."""
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    profile = pytester.makefile(
        ".toml",
        conformance="[credentials.basic]\nusername_env = 'NOT_SET_ANYWHERE'\n",
    )

    result = pytester.runpytest(
        "--profile", str(profile), "--target", "http://127.0.0.1:9"
    )

    assert_usage_error(result, "'NOT_SET_ANYWHERE', which is not set")


def test_a_target_command_that_exits_is_reported(pytester: pytest.Pytester) -> None:
    """A launch command that dies shows its exit code and its last output."""
    command = f"{sys.executable} -c \"print('boom on start'); raise SystemExit(3)\""

    result = pytester.runpytest("--target-cmd", command)

    assert_usage_error(result, "exited with code 3")
    assert "boom on start" in result.stdout.str() + result.stderr.str()


def test_a_named_openapi_document_that_is_missing_is_refused(
    pytester: pytest.Pytester, serve: object
) -> None:
    """--openapi naming a file that does not exist stops the run."""
    url = serve(PLAIN_APP)  # type: ignore[operator]

    result = pytester.runpytest("--target", url, "--openapi", "missing.yaml")

    assert_usage_error(result, "'missing.yaml' cannot be read")


def test_the_target_can_come_from_the_environment(
    pytester: pytest.Pytester, serve: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CONFORMANCE_TARGET works like --target."""
    monkeypatch.setenv("CONFORMANCE_TARGET", serve(PLAIN_APP))  # type: ignore[operator]

    result = pytester.runpytest("-k", "HLT-01")

    result.assert_outcomes(failed=1, deselected=result.parseoutcomes()["deselected"])
