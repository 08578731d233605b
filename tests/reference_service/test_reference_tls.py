"""TLS from TLS_CERT_FILE and TLS_KEY_FILE, and HSTS on every HTTPS answer."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from pydantic import ValidationError

from reference_service.settings import Settings, describe_errors
from reference_service.transport_security import HSTS_VALUE

START_TIMEOUT_S = 20.0


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, and a certificate with its key for 127.0.0.1, made with trustme."""
    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    other = ca.issue_cert("127.0.0.1")
    files = {
        "ca": directory / "ca.pem",
        "cert": directory / "cert.pem",
        "key": directory / "key.pem",
        "other_key": directory / "other-key.pem",
    }
    ca.cert_pem.write_to_path(str(files["ca"]))
    server.cert_chain_pems[0].write_to_path(str(files["cert"]))
    server.private_key_pem.write_to_path(str(files["key"]))
    other.private_key_pem.write_to_path(str(files["other_key"]))
    return files


def _settings(tmp_path: Path, **values: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/orders.db",
        basic_auth_password="tls-test-password",
        api_keys="tls-test-key",
        jwt_secret="tls-test-jwt-secret-0123456789abcdef",
        **values,  # type: ignore[arg-type]
    )


def _error(tmp_path: Path, **values: str) -> str:
    with pytest.raises(ValidationError) as caught:
        _settings(tmp_path, **values)
    (message,) = describe_errors(caught.value)
    return message


def test_tls_is_off_by_default(tmp_path: Path) -> None:
    """Without the variables the service speaks plain HTTP."""
    settings = _settings(tmp_path)

    assert settings.tls_cert_file is None
    assert settings.tls_key_file is None


def test_certificate_and_key_come_together(
    tmp_path: Path, tls_files: dict[str, Path]
) -> None:
    """One file without the other stops start-up, naming the missing one."""
    cert, key = str(tls_files["cert"]), str(tls_files["key"])

    assert _error(tmp_path, tls_cert_file=cert).startswith(
        "TLS_KEY_FILE is invalid: is required when TLS_CERT_FILE is set"
    )
    assert "is set without TLS_CERT_FILE" in _error(tmp_path, tls_key_file=key)


def test_unusable_files_are_refused(tmp_path: Path, tls_files: dict[str, Path]) -> None:
    """A missing certificate or a key of another certificate is reported on start."""
    cert, other_key = str(tls_files["cert"]), str(tls_files["other_key"])
    missing = str(tmp_path / "nowhere.pem")

    assert "is not a file" in _error(
        tmp_path, tls_cert_file=missing, tls_key_file=other_key
    )
    assert "does not load with TLS_CERT_FILE" in _error(
        tmp_path, tls_cert_file=cert, tls_key_file=other_key
    )


def test_a_bad_key_exits_2_with_one_line(
    tmp_path: Path, tls_files: dict[str, Path]
) -> None:
    """`python -m reference_service` reports an unusable key as a configuration error."""
    env = _env(tmp_path, tls_files, port=1)
    env["TLS_KEY_FILE"] = str(tls_files["other_key"])

    result = subprocess.run(
        [sys.executable, "-m", "reference_service"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("configuration error: TLS_KEY_FILE=")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _env(tmp_path: Path, files: dict[str, Path], port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TLS_", "CORS_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path}/orders.db",
        BASIC_AUTH_PASSWORD="tls-test-password",
        API_KEYS="tls-test-key",
        JWT_SECRET="tls-test-jwt-secret-0123456789abcdef",
        HTTP_ADDR=f"127.0.0.1:{port}",
        TLS_CERT_FILE=str(files["cert"]),
        TLS_KEY_FILE=str(files["key"]),
    )
    return env


@pytest.fixture
def https_service(
    tmp_path: Path, tls_files: dict[str, Path]
) -> Iterator[tuple[str, ssl.SSLContext]]:
    """The service over HTTPS on a free loopback port, and a context trusting it."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "reference_service"],
        env=_env(tmp_path, tls_files, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(tls_files["ca"]))
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                httpx.get(url + "/livez", verify=context, timeout=1)
                break
            except httpx.HTTPError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the HTTPS service did not start: {exc!r}")
                time.sleep(0.1)
        yield url, context
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_https_answers_all_carry_hsts(
    https_service: tuple[str, ssl.SSLContext],
) -> None:
    """Successes, refusals and unknown paths over HTTPS all send HSTS for a year."""
    url, context = https_service
    with httpx.Client(base_url=url, verify=context, timeout=5) as client:
        answers = [
            client.get("/healthz"),
            client.get("/users"),
            client.get("/no-such-path"),
        ]

    assert [r.status_code for r in answers] == [200, 401, 404]
    for response in answers:
        assert response.headers["Strict-Transport-Security"] == HSTS_VALUE


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize(
    "version",
    [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1],
    ids=["TLSv1.0", "TLSv1.1"],
)
def test_tls_before_1_2_is_refused(
    https_service: tuple[str, ssl.SSLContext], version: ssl.TLSVersion
) -> None:
    """A client limited to TLS 1.0 or 1.1 cannot complete a handshake."""
    url, _ = https_service
    port = int(url.rsplit(":", 1)[1])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    context.set_ciphers("DEFAULT:@SECLEVEL=0")

    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.1")


@pytest.mark.anyio
async def test_plain_http_answers_carry_no_hsts(client: httpx.AsyncClient) -> None:
    """HSTS over plain HTTP means nothing (RFC 6797 section 7.2), so none is sent."""
    response = await client.get("/healthz")

    assert "strict-transport-security" not in response.headers
