"""SEC-03 to SEC-12 pass on the reference service and fail on variants lacking them."""

from __future__ import annotations

import json
import os
import shlex
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from conformance.checks.transport import plain_http_verdict
from conformance.launcher import free_port
from tests.support import REPO, reference_env

DEMO_PROFILE = REPO / "reference_service" / "conformance.toml"


def command(factory: str, *extra: str) -> str:
    return (
        f"{sys.executable} -m uvicorn --app-dir {REPO} --factory {factory} "
        f"--host 127.0.0.1 --port {{port}} --log-level warning {' '.join(extra)}"
    )


def run_checks(
    pytester: pytest.Pytester, target_cmd: str, *args: str
) -> tuple[pytest.RunResult, list[dict[str, Any]]]:
    result = pytester.runpytest(
        "--profile", str(DEMO_PROFILE), "--target-cmd", target_cmd, *args
    )
    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    return result, report["checks"]


def of(checks: list[dict[str, Any]], check_id: str) -> list[dict[str, Any]]:
    return [c for c in checks if c["id"] == check_id]


pytestmark = pytest.mark.usefixtures("secrets_env")


def test_the_reference_service_passes_the_credential_checks(
    pytester: pytest.Pytester,
) -> None:
    """Wrong, forged, scoped, valid and repeated credentials are all handled right."""
    result, checks = run_checks(
        pytester,
        f"{sys.executable} -m reference_service",
        "-k",
        "SEC-03 or SEC-04 or SEC-05 or SEC-07 or SEC-08 or SEC-11 or SEC-12",
    )

    assert {c["outcome"] for c in checks} == {"passed"}, [
        c for c in checks if c["outcome"] != "passed"
    ]
    assert {c["id"] for c in checks} == {
        "SEC-03",
        "SEC-04",
        "SEC-05",
        "SEC-07",
        "SEC-08",
        "SEC-11",
        "SEC-12",
    }
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize(
    ("variant", "check_id", "reason"),
    [
        (
            "tells_unknown_users_apart",
            "SEC-03",
            "an unknown user and a wrong password get different answers",
        ),
        (
            "verifies_no_signature",
            "SEC-04",
            "a token alg 'none' without a signature: accepted",
        ),
        ("does_not_require_exp", "SEC-04", "a token without exp: accepted"),
        (
            "takes_algorithm_from_token",
            "SEC-04",
            "a token alg 'none' without a signature",
        ),
        (
            "ignores_scopes",
            "SEC-05",
            "a valid token without api:read api:write answered 200",
        ),
        (
            "refuses_valid_api_keys",
            "SEC-07",
            "with valid api_key credentials answered 401",
        ),
        ("without_nosniff", "SEC-11", "lacks X-Content-Type-Options: nosniff"),
        (
            "cacheable_authenticated_answers",
            "SEC-11",
            "an authenticated response may be cached",
        ),
        ("reflects_any_origin", "SEC-12", "with credentials allowed"),
        ("server_error_on_invalid_input", "SEC-10", "server error on invalid input"),
    ],
)
def test_credential_checks_fail_on_variants_lacking_the_pattern(
    pytester: pytest.Pytester, variant: str, check_id: str, reason: str
) -> None:
    """Each variant fails its check with a message naming what is wrong."""
    result, checks = run_checks(
        pytester, command(f"tests.targets.security_variants:{variant}"), "-k", check_id
    )

    failed = [c for c in of(checks, check_id) if c["outcome"] == "failed"]
    assert failed, of(checks, check_id)
    assert reason in " | ".join(c["message"] for c in failed)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_an_unlimited_key_check_fails_sec_08(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a limit on failed attempts, SEC-08 fails after the configured bound."""
    monkeypatch.setenv("AUTH_FAILURE_LIMIT", "100000")

    result, checks = run_checks(
        pytester, f"{sys.executable} -m reference_service", "-k", "SEC-08"
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert {c["outcome"] for c in of(checks, "SEC-08")} == {"failed"}
    assert "were never answered 429" in of(checks, "SEC-08")[0]["message"]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1, made with trustme."""
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    files = {
        "ca": directory / "ca.pem",
        "cert": directory / "cert.pem",
        "key": directory / "key.pem",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.cert_chain_pems[0].write_to_path(str(files["cert"]))
    server.private_key_pem.write_to_path(str(files["key"]))
    return files


ServeTls = Callable[[str, dict[str, Path]], str]
REFERENCE = "reference"


@pytest.fixture
def serve_tls(tmp_path: Path) -> Iterator[ServeTls]:
    """Serve the reference (its TLS variables) or a variant (uvicorn's) over HTTPS."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(target: str, files: dict[str, Path]) -> str:
        port = free_port()
        env = {**os.environ, **reference_env(tempfile.mkdtemp(dir=tmp_path))}
        if target == REFERENCE:
            argv = [sys.executable, "-m", "reference_service"]
            env |= {
                "HTTP_ADDR": f"127.0.0.1:{port}",
                "TLS_CERT_FILE": str(files["cert"]),
                "TLS_KEY_FILE": str(files["key"]),
            }
        else:
            tls = f"--ssl-keyfile {files['key']} --ssl-certfile {files['cert']}"
            argv = shlex.split(command(target, tls).replace("{port}", str(port)))
        processes.append(
            subprocess.Popen(
                argv,
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        url = f"https://127.0.0.1:{port}"
        context = ssl.create_default_context(cafile=str(files["ca"]))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "/livez", verify=context, timeout=1)
                return url
            except httpx.HTTPError:
                time.sleep(0.1)
        pytest.fail(f"the TLS test server on {url} did not start within 20 s")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("target", "outcome"),
    [
        (REFERENCE, "passed"),
        ("tests.targets.security_variants:without_hsts", "failed"),
    ],
)
def test_sec_09_judges_tls_and_hsts(
    pytester: pytest.Pytester,
    serve_tls: ServeTls,
    tls_files: dict[str, Path],
    target: str,
    outcome: str,
) -> None:
    """Over TLS 1.2+, HSTS decides: the reference sends it and passes; without, fails."""
    url = serve_tls(target, tls_files)
    profile = pytester.makefile(
        ".toml", conformance=f'[tls]\nca_file = "{tls_files["ca"]}"\n'
    )

    pytester.runpytest("--target", url, "--profile", str(profile), "-k", "SEC-09")

    checks = json.loads((pytester.path / "reports" / "conformance.json").read_text())[
        "checks"
    ]
    assert [c["outcome"] for c in of(checks, "SEC-09")] == [outcome], checks
    if outcome == "failed":
        assert (
            "no Strict-Transport-Security header" in of(checks, "SEC-09")[0]["message"]
        )


def test_plain_http_is_judged_by_where_it_listens() -> None:
    """Plain HTTP fails off loopback and is skipped on it."""
    assert plain_http_verdict("http://10.0.0.8:8080") == "fail"
    assert plain_http_verdict("http://127.0.0.1:8080") == "skip"
    assert plain_http_verdict("http://[::1]:8080") == "skip"
    assert plain_http_verdict("https://10.0.0.8") == "check"
