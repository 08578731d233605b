"""Health checks (HLT): the endpoint orchestrators and load balancers poll."""

from __future__ import annotations

from typing import Final

import pytest

from conformance.api import CheckFailed, Findings, check
from conformance.evidence import Evidence
from conformance.health_shapes import read_health
from conformance.leaks import find_leaks
from conformance.probe import HttpProbe
from conformance.profile import Profile
from conformance.redaction import Redactor
from conformance.settings import Settings

HEALTH_SHAPES: Final = (
    'the guide\'s {"uptime": s, "version": v, "status": {"database": "OK"}}, '
    'IETF health+json {"status": "pass", "checks": {...}}, or Spring {"status": "UP"}'
)
LATENCY_SAMPLES: Final = 3


@check(
    "HLT-01",
    category="health",
    title="Health endpoint answers 200 with each dependency's status",
    pattern="A health endpoint reports the service and every dependency it needs, in a "
    "JSON shape that orchestrators and dashboards can read.",
    remediation="Serve the health path with a JSON body that names each dependency and "
    "its status, pinging each one with a short timeout.",
    reference="reference_service/health.py",
)
def test_health_endpoint_reports_dependencies(
    http: HttpProbe,
    profile: Profile,
    evidence: Evidence,
) -> None:
    path = profile.health.path
    response = http.get(path)
    if response.status != 200:
        msg = f"GET {path} answered {response.status}, not 200"
        raise CheckFailed(msg, expected=200, observed=response.status)

    report = read_health(response.json())
    if report is None:
        msg = f"GET {path} answered a body that is not JSON in an accepted health shape"
        raise CheckFailed(msg, expected=HEALTH_SHAPES, observed=response.text[:300])

    evidence.note("shape", report.shape)
    evidence.note("dependencies reported", report.dependencies or "(none)")
    findings = Findings()
    declared = [dependency.name for dependency in profile.dependencies]
    missing = [name for name in declared if name not in report.dependencies]
    if missing:
        findings.add(
            f"the health body does not name the declared dependencies {', '.join(missing)}",
            expected=declared,
            observed=sorted(report.dependencies),
        )
    if report.failing():
        findings.add(
            f"the health endpoint answered 200 while reporting {', '.join(report.failing())} "
            "as failing; a failing dependency must turn the answer into 503",
            expected="503 when a dependency fails",
            observed=200,
        )
    findings.raise_if_any()


@check(
    "HLT-03",
    category="health",
    title="Health needs no credentials, answers within 1 s, exposes nothing secret",
    pattern="Probes call health without credentials, often, and with short timeouts; the "
    "body is often visible beyond the service's owners.",
    remediation="Mount the health endpoint outside authentication, bound each dependency "
    "ping with a timeout, and report only names and statuses: no connection strings, "
    "configuration or stack traces.",
    reference="reference_service/health.py",
)
def test_health_is_public_prompt_and_discreet(
    http: HttpProbe,
    profile: Profile,
    settings: Settings,
    redactor: Redactor,
) -> None:
    path = profile.health.path
    bound = profile.health.max_latency_s
    findings = Findings()
    responses = [http.get(path, timeout_s=bound + 5.0) for _ in range(LATENCY_SAMPLES)]
    first = responses[0]
    if first.status in (401, 403):
        msg = f"GET {path} without credentials answered {first.status}"
        raise CheckFailed(
            msg, expected="200 or 503 without credentials", observed=first.status
        )
    if first.status == 404:
        pytest.skip(
            f"no health endpoint at {path} (404); HLT-01 reports it, or set health.path"
        )

    slowest = max(r.elapsed_s for r in responses)
    if slowest > bound:
        findings.add(
            f"GET {path} took {slowest:.3f} s, over the {bound:g} s bound",
            expected=f"<= {bound:g} s",
            observed=f"{slowest:.3f} s",
        )
    for response in responses[:1]:
        for leak in find_leaks(
            response.text, response.json(), settings.credentials.secrets()
        ):
            findings.add(
                f"the health body exposes {leak.what}",
                expected="names and statuses only",
                observed=redactor.text(leak.excerpt),
            )
    findings.raise_if_any()
