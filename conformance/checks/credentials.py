"""Credentials checked for real (SEC-03, SEC-04, SEC-05, SEC-07, SEC-08).

Wrong, malformed and forged credentials must be refused with 401; valid ones accepted;
scopes enforced with 403; and repeated failures slowed down with 429.
"""

from __future__ import annotations

import base64
import secrets
from typing import Final

import pytest

from conformance.api import CheckFailed, Findings, check
from conformance.calls import Caller
from conformance.evidence import Evidence
from conformance.forgery import forgeries_with_key, forgeries_without_key
from conformance.openapi.document import OpenAPIDocument
from conformance.openapi.samples import sample_body, sample_path
from conformance.openapi.security import Operation
from conformance.parametrize import SchemeTarget
from conformance.probe import HttpProbe, ProbeResponse
from conformance.profile import CredentialRef, RequestSpec
from conformance.settings import Settings

SECURITY: Final = "reference_service/security.py"
Attempt = tuple[str, list[tuple[str, str]], dict[str, str]]


def send(
    http: HttpProbe,
    operation: Operation,
    document: OpenAPIDocument,
    headers: list[tuple[str, str]],
    params: dict[str, str] | None = None,
) -> ProbeResponse:
    return http.request(
        operation.method.upper(),
        sample_path(operation, document.data),
        headers=headers,
        json_body=sample_body(operation, document.data),
        params=params or None,
    )


def judge_refusal(
    findings: Findings, label: str, response: ProbeResponse, lenient_400: bool
) -> None:
    status = response.status
    if status in (401, 429):
        return
    if status == 400 and lenient_400:
        findings.add(
            f"{label}: answered 400; RFC 9110 expects 401",
            severity="warning",
            expected=401,
            observed=400,
        )
        return
    meaning = "accepted" if status < 400 else f"answered {status}"
    findings.add(f"{label}: {meaning}", expected=401, observed=status)


@check(
    "SEC-03",
    category="security",
    title="Wrong and malformed credentials answer 401, the same for every reason",
    pattern="Every failed authentication looks alike, so an attacker learns nothing about "
    "which users or keys exist.",
    remediation="Compare credentials in constant time and answer every failure with the "
    "same 401 and challenge, whatever was wrong.",
    reference=SECURITY,
)
def test_wrong_credentials_are_refused(
    scheme_target: SchemeTarget,
    openapi_document: OpenAPIDocument,
    settings: Settings,
    http: HttpProbe,
    evidence: Evidence,
) -> None:
    scheme, operation = scheme_target.scheme, scheme_target.operation
    secrets_ = settings.credentials.for_scheme(scheme.name) or {}
    attempts = _wrong_attempts(scheme_target, secrets_)
    if not attempts:
        pytest.skip(
            f"no wrong-credential probes for {scheme.name} ({scheme.describe()})"
        )

    findings = Findings()
    answers: dict[str, ProbeResponse] = {}
    for label, headers, params in attempts:
        response = send(http, operation, openapi_document, headers, params)
        answers[label] = response
        judge_refusal(findings, label, response, lenient_400="malformed" in label)

    wrong, unknown = answers.get("wrong password"), answers.get("unknown user")
    if (
        wrong is not None
        and unknown is not None
        and (wrong.status, wrong.body) != (unknown.status, unknown.body)
    ):
        findings.add(
            "an unknown user and a wrong password get different answers, which tells "
            "attackers which users exist",
            expected="the same status and body",
            observed=f"{unknown.status} vs {wrong.status}",
        )
    evidence.note(
        "attempts", ", ".join(f"{k} -> {v.status}" for k, v in answers.items())
    )
    findings.raise_if_any()


@check(
    "SEC-04",
    category="security",
    title="Forged or invalid JWTs answer 401",
    pattern="A token verifier pins its algorithm and key and requires exp, so unsigned, "
    "re-signed, expired and tampered tokens are refused (RFC 8725).",
    remediation="Verify with a fixed list of algorithms and the configured key, require "
    "exp (and iss/aud when configured), and refuse anything else with 401.",
    reference=SECURITY,
)
def test_forged_tokens_are_refused(
    bearer_target: SchemeTarget,
    openapi_document: OpenAPIDocument,
    settings: Settings,
    http: HttpProbe,
    evidence: Evidence,
) -> None:
    scheme_target = bearer_target
    scheme = scheme_target.scheme
    reference = settings.profile.credentials.get(scheme.name) or CredentialRef()
    secrets_ = settings.credentials.for_scheme(scheme.name) or {}
    scopes = list(scheme_target.scopes)
    forged = forgeries_without_key(reference, scopes, secrets_.get("public_key"))
    if secrets_.get("signing_key"):
        forged += forgeries_with_key(secrets_["signing_key"], reference, scopes)
    else:
        evidence.note(
            "not tried",
            "expired, not-yet-valid, missing exp and tampered tokens "
            f"need credentials.{scheme.name}.signing_key_env in the profile",
        )

    findings = Findings()
    for forgery in forged:
        response = send(
            http,
            scheme_target.operation,
            openapi_document,
            [("Authorization", f"Bearer {forgery.token}")],
        )
        judge_refusal(findings, f"a token {forgery.label}", response, lenient_400=False)
    evidence.note("forgeries tried", len(forged))
    findings.raise_if_any()


@check(
    "SEC-05",
    category="security",
    title="A valid token without the operation's scope answers 403; with it, success",
    pattern="Scopes limit what a valid token may do: authentication (401) and "
    "authorization (403) are answered apart (RFC 6750 §3.1).",
    remediation="Check the token's scopes per operation and answer a missing one with 403 "
    'and `WWW-Authenticate: Bearer error="insufficient_scope"`.',
    reference=SECURITY,
)
def test_scopes_are_enforced(
    scoped_operation: Operation,
    openapi_document: OpenAPIDocument,
    caller: Caller,
    evidence: Evidence,
) -> None:
    operation = scoped_operation
    requirement = next(
        r for r in operation.requirements if len(r) == 1 and next(iter(r.values()))
    )
    ((scheme_name, scopes),) = requirement.items()
    path = sample_path(operation, openapi_document.data)
    body = sample_body(operation, openapi_document.data)

    def call(with_scopes: list[str]) -> ProbeResponse:
        spec = RequestSpec(
            method=operation.method,
            path=path,
            json=body,
            auth=scheme_name,
            scopes=with_scopes,
        )
        return caller.call(spec)

    findings = Findings()
    without = call([])
    if without.status != 403:
        findings.add(
            f"a valid token without {' '.join(scopes)} answered {without.status}",
            expected=403,
            observed=without.status,
        )
    elif "insufficient_scope" not in without.headers.get("www-authenticate", ""):
        findings.add(
            'the 403 carries no `WWW-Authenticate: Bearer error="insufficient_scope"`',
            severity="warning",
            expected="insufficient_scope challenge",
            observed=without.headers.get("www-authenticate", "none"),
        )
    granted = call(list(scopes))
    evidence.note(
        "answers",
        f"without scopes {without.status}; with {' '.join(scopes)} {granted.status}",
    )
    if granted.status in (401, 403) or granted.status >= 500:
        findings.add(
            f"a token with {' '.join(scopes)} answered {granted.status}",
            expected="success",
            observed=granted.status,
        )
    findings.raise_if_any()


@check(
    "SEC-07",
    category="security",
    title="Valid credentials are accepted on the operations that use them",
    pattern="Enforcement matches the declaration: the declared scheme, with valid "
    "credentials, lets the caller in.",
    remediation="Accept the scheme the document declares for the operation.",
    reference=SECURITY,
)
def test_valid_credentials_are_accepted(
    secured_operation: Operation,
    openapi_document: OpenAPIDocument,
    caller: Caller,
    settings: Settings,
) -> None:
    operation = secured_operation
    configured = set(settings.credentials.schemes())
    usable = [r for r in operation.requirements if r and set(r) <= configured]
    if not usable:
        pytest.skip(
            f"needs credentials for {' or '.join(operation.scheme_names())} in the profile"
        )

    requirement = usable[0]
    headers: list[tuple[str, str]] = []
    params: dict[str, str] = {}
    for name, scopes in requirement.items():
        presented = caller.credentials(name, list(scopes))
        headers += list(presented.headers.items())
        params |= presented.params
    response = send(caller.http, operation, openapi_document, headers, params)
    if response.status in (401, 403) or response.status >= 500:
        schemes = " and ".join(requirement)
        msg = f"{operation.label} with valid {schemes} credentials answered {response.status}"
        raise CheckFailed(
            msg, expected="accepted (not 401, 403 or 5xx)", observed=response.status
        )


@check(
    "SEC-08",
    category="security",
    title="Repeated failed attempts are limited with 429 and Retry-After",
    pattern="Limiting failed API key and password attempts makes guessing them "
    "impractical (the guide: rate limiting for API key authentication).",
    remediation="Count failed attempts per client and scheme; past a threshold answer 429 "
    "with Retry-After until the window passes.",
    reference="reference_service/rate_limit.py",
)
def test_failed_attempts_are_limited(
    guessable_target: SchemeTarget,
    openapi_document: OpenAPIDocument,
    settings: Settings,
    isolated_http: HttpProbe,
    evidence: Evidence,
) -> None:
    scheme_target = guessable_target
    scheme = scheme_target.scheme
    limit = settings.profile.expect.auth_attempt_limit
    wrong = _wrong_attempts(
        scheme_target, settings.credentials.for_scheme(scheme.name) or {}
    )[0]
    statuses: list[int] = []
    for _ in range(limit):
        response = send(
            isolated_http, scheme_target.operation, openapi_document, wrong[1], wrong[2]
        )
        statuses.append(response.status)
        if response.status == 429:
            break
    evidence.note("statuses", statuses)

    if statuses[-1] != 429:
        msg = f"{limit} failed {scheme.name} attempts in a row were never answered 429"
        raise CheckFailed(
            msg, expected=f"429 within {limit} attempts", observed=sorted(set(statuses))
        )
    retry_after = response.headers.get("retry-after", "")
    if not retry_after.strip().isdigit():
        msg = f"the 429 after {len(statuses)} attempts has no usable Retry-After ({retry_after!r})"
        raise CheckFailed(
            msg,
            expected="Retry-After: seconds",
            observed=retry_after or "absent",
            severity="warning",
        )


def _wrong_attempts(target: SchemeTarget, secrets_: dict[str, str]) -> list[Attempt]:
    scheme = target.scheme
    if scheme.type == "http" and scheme.scheme.lower() == "basic":
        user = secrets_.get("username") or "admin"
        return [
            (
                "wrong password",
                [("Authorization", _basic(user, secrets.token_urlsafe(12)))],
                {},
            ),
            (
                "unknown user",
                [
                    (
                        "Authorization",
                        _basic("u-" + secrets.token_hex(6), secrets.token_urlsafe(12)),
                    )
                ],
                {},
            ),
            ("malformed Basic header", [("Authorization", "Basic !!not-base64!!")], {}),
            (
                "malformed Basic pair without a colon",
                [("Authorization", "Basic " + base64.b64encode(b"nocolon").decode())],
                {},
            ),
        ]
    if scheme.type == "apiKey":
        attempts: list[Attempt] = [
            (
                "unknown API key",
                *_api_key(
                    scheme.location, scheme.parameter, "k-" + secrets.token_hex(12)
                ),
            )
        ]
        valid = secrets_.get("value")
        if valid:
            elsewhere = "query" if scheme.location != "query" else "header"
            attempts.append(
                (
                    "API key in the wrong place",
                    *_api_key(elsewhere, scheme.parameter, valid),
                )
            )
        return attempts
    if scheme.type in ("oauth2", "openIdConnect") or scheme.scheme.lower() == "bearer":
        token = secrets_.get("token") or "not.a.token"
        return [
            ("wrong bearer scheme word", [("Authorization", f"Token {token}")], {}),
            (
                "a bearer value that is not a token",
                [("Authorization", "Bearer " + secrets.token_hex(16))],
                {},
            ),
        ]
    return []


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _api_key(
    location: str, name: str, value: str
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    if location == "query":
        return [], {name: value}
    if location == "cookie":
        return [("Cookie", f"{name}={value}")], {}
    return [(name, value)], {}
