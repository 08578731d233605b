"""SEC-01: the security model the OpenAPI document declares is sound."""

from __future__ import annotations

from conformance.api import Findings, check
from conformance.evidence import Evidence
from conformance.openapi.security import Operation, SecurityModel


@check(
    "SEC-01",
    category="security",
    title="Operation security is explicit or inherited, and names defined schemes",
    pattern="Security is declared at the API level so every operation is secured by "
    "default, and public operations say so explicitly (the guide's NoSecurity()).",
    remediation="Declare a document-level `security` default; give public operations "
    "`security: []`; define every scheme a requirement names under "
    "`components.securitySchemes`.",
    reference="reference_service/openapi.py",
)
def test_operation_security_is_declared(
    declared_operation: Operation,
    security_model: SecurityModel,
    evidence: Evidence,
) -> None:
    operation = declared_operation
    evidence.note("declared at", operation.origin)
    evidence.note("requirements", list(operation.requirements) or "none (public)")
    findings = Findings()
    if operation.origin == "undeclared":
        findings.add(
            f"{operation.label} is public only because nothing was declared: the document "
            "has no API-level `security` and the operation none of its own",
            expected="an API-level default or the operation's own `security` "
            "(`[]` when it is meant to be public)",
            observed="no security anywhere",
        )

    dangling = [n for n in operation.scheme_names() if n not in security_model.schemes]
    if dangling:
        findings.add(
            f"{operation.label} requires {', '.join(map(repr, dangling))}, not defined in "
            "components.securitySchemes",
            expected=sorted(security_model.schemes),
            observed=dangling,
        )
    findings.raise_if_any()
