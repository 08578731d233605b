"""Transport and response hygiene (SEC-09, SEC-11, SEC-12): TLS, headers, CORS."""

from __future__ import annotations

import re
import secrets
import socket
import ssl
from typing import Final, Literal
from urllib.parse import urlsplit

import pytest

from conformance.api import CheckFailed, Findings, check
from conformance.calls import Caller
from conformance.evidence import Evidence
from conformance.probe import HttpProbe
from conformance.profile import Profile, RequestSpec
from conformance.settings import Settings, is_loopback_url

OLD_VERSIONS: Final = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
VERSION_BANNER: Final = re.compile(r"\d+\.\d+")
TLS_TIMEOUT_S: Final = 5.0


@check(
    "SEC-09",
    category="security",
    title="HTTPS with TLS 1.2 or newer and HSTS; no plain HTTP off loopback",
    pattern="Credentials and data travel encrypted with current TLS, and browsers are told "
    "to stay on HTTPS (the guide: always use HTTPS in production).",
    remediation="Terminate TLS with 1.2 as the minimum, send Strict-Transport-Security, and "
    "never expose plain HTTP beyond the host.",
    reference="reference_service/transport_security.py",
)
def test_transport_is_encrypted(
    settings: Settings, http: HttpProbe, profile: Profile, evidence: Evidence
) -> None:
    url = http.base_url
    parts = urlsplit(url)
    verdict = plain_http_verdict(url)
    if verdict == "skip":
        pytest.skip(
            "the target is plain HTTP on loopback, where TLS is usually terminated in "
            "front of it; point --target at the https address to check TLS"
        )
    if verdict == "fail":
        msg = f"the target {url} serves plain HTTP off loopback"
        raise CheckFailed(msg, expected="https", observed="http")

    findings = Findings()
    host, port = parts.hostname or "", parts.port or 443
    for version in OLD_VERSIONS:
        accepted = _handshake(host, port, version, verify=False)
        evidence.note(f"{version.name}", "accepted" if accepted else "refused")
        if accepted:
            findings.add(
                f"the target accepts {version.name}",
                expected="TLS 1.2 or newer only",
                observed=version.name,
            )
    if not _handshake(host, port, None, verify=True, ca_file=profile.tls.ca_file):
        findings.add(
            "the certificate chain does not verify against the trusted CAs",
            expected=f"a chain to {profile.tls.ca_file or 'the system trust store'}",
            observed="verification failed",
        )
    response = http.get("/")
    if "max-age" not in response.headers.get("strict-transport-security", ""):
        findings.add(
            "no Strict-Transport-Security header",
            expected="max-age=...",
            observed="absent",
        )
    findings.raise_if_any()


@check(
    "SEC-11",
    category="security",
    title="Responses carry nosniff, no version banner, and no-store when authenticated",
    pattern="Headers that stop content sniffing, hide server versions and keep "
    "authenticated answers out of shared caches.",
    remediation="Add X-Content-Type-Options: nosniff to every response, drop Server "
    "versions and X-Powered-By, and send Cache-Control: no-store on authenticated ones.",
    reference="reference_service/middleware.py",
)
def test_response_headers_are_hardened(
    caller: Caller, probe_request: RequestSpec, settings: Settings, evidence: Evidence
) -> None:
    findings = Findings()
    public = caller.call(RequestSpec(path=settings.profile.health.path))
    answered = [("health", public)]
    if probe_request.auth:
        answered.append(("authenticated", caller.call(probe_request)))

    for label, response in answered:
        headers = response.headers
        if headers.get("x-content-type-options", "").lower() != "nosniff":
            findings.add(
                f"the {label} response lacks X-Content-Type-Options: nosniff",
                expected="nosniff",
                observed=headers.get("x-content-type-options", "absent"),
            )
        server = headers.get("server", "")
        if VERSION_BANNER.search(server) or "x-powered-by" in headers:
            banner = server or headers.get("x-powered-by", "")
            findings.add(
                f"the {label} response names the server software and version",
                severity="warning",
                expected="no version banner",
                observed=banner,
            )
        if label == "authenticated" and "no-store" not in headers.get(
            "cache-control", ""
        ):
            findings.add(
                "an authenticated response may be cached",
                expected="Cache-Control: no-store",
                observed=headers.get("cache-control", "absent"),
            )
    evidence.note("checked", ", ".join(label for label, _ in answered))
    findings.raise_if_any()


@check(
    "SEC-12",
    category="security",
    title="CORS does not reflect arbitrary or null origins with credentials",
    pattern="Reflecting any Origin with credentials allowed lets every website act as "
    "the logged-in user.",
    remediation="Allow a fixed list of origins, never `null`, and allow credentials only "
    "for those.",
    reference="reference_service/transport_security.py",
)
def test_cors_does_not_reflect_origins(
    caller: Caller, probe_request: RequestSpec, evidence: Evidence
) -> None:
    findings = Findings()
    for origin in (f"https://attacker-{secrets.token_hex(4)}.example", "null"):
        preflight = RequestSpec(method="OPTIONS", path=probe_request.path)
        for label, spec, extra in (
            (
                "preflight",
                preflight,
                [("Access-Control-Request-Method", probe_request.method)],
            ),
            ("request", probe_request, []),
        ):
            response = caller.call(spec, headers=[("Origin", origin), *extra])
            allowed = response.headers.get("access-control-allow-origin", "")
            credentials = response.headers.get(
                "access-control-allow-credentials", ""
            ).lower()
            evidence.note(
                f"{label} from {origin}",
                f"allow-origin={allowed or '-'} credentials={credentials or '-'}",
            )
            if origin == "null" and allowed == "null":
                findings.add(
                    f"the {label} allows the `null` origin",
                    expected="no null origin",
                    observed=allowed,
                )
            elif allowed in (origin, "*") and credentials == "true":
                findings.add(
                    f"the {label} reflects {origin} with credentials allowed",
                    expected="a fixed list of origins",
                    observed=allowed,
                )
    findings.raise_if_any()


def plain_http_verdict(url: str) -> Literal["check", "skip", "fail"]:
    """HTTPS is checked; plain HTTP is skipped on loopback and fails anywhere else."""
    if urlsplit(url).scheme != "http":
        return "check"
    return "skip" if is_loopback_url(url) else "fail"


def _handshake(
    host: str,
    port: int,
    version: ssl.TLSVersion | None,
    verify: bool,
    ca_file: str | None = None,
) -> bool:
    """Whether a TLS handshake succeeds, pinned to ``version`` when given."""
    context = (
        ssl.create_default_context(cafile=ca_file)
        if verify
        else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    )
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if version is not None:
        context.minimum_version = context.maximum_version = version
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with (
            socket.create_connection((host, port), timeout=TLS_TIMEOUT_S) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except (ssl.SSLError, OSError):
        return False
