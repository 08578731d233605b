"""SEC-10: input validation on authenticated calls, driven by schemathesis."""

from __future__ import annotations

from typing import Final

import pytest

from conformance.api import CheckFailed, Findings, check
from conformance.calls import Caller
from conformance.evidence import Evidence
from conformance.fuzzing import fuzz_operation
from conformance.leaks import find_stack_trace
from conformance.openapi.document import OpenAPIDocument
from conformance.openapi.samples import sample_path
from conformance.openapi.security import HTTP_METHODS, Operation
from conformance.probe import HttpProbe
from conformance.profile import Profile
from conformance.settings import Settings

MAX_LISTED: Final = 5
UNDOCUMENTED_CANDIDATES: Final = ("patch", "delete", "put", "post", "get")


@check(
    "SEC-10",
    category="security",
    title="Generated valid and invalid inputs get 4xx, never 5xx, and documented answers",
    pattern="Every input is validated, even on authenticated calls (the guide), and "
    "answers match the document clients are generated from.",
    remediation="Validate every parameter and body against the schema before use, answer "
    "invalid input with 4xx, document every status and content type an operation answers, "
    "and never put stack traces in error bodies.",
    reference="reference_service/errors.py",
)
def test_inputs_are_validated(
    fuzzable_operation: Operation,
    openapi_document: OpenAPIDocument,
    caller: Caller,
    http: HttpProbe,
    settings: Settings,
    profile: Profile,
    evidence: Evidence,
) -> None:
    operation = fuzzable_operation
    headers = _credentials(operation, caller, settings)
    problems, run = fuzz_operation(
        openapi_document.data,
        operation.method,
        operation.raw_path,
        http.base_url,
        headers,
        examples=profile.fuzzing.examples_per_operation,
        budget_s=profile.fuzzing.budget_s,
    )
    evidence.note(
        "generated requests",
        f"{run.cases} sent, {run.timeouts} timed out, "
        f"{run.cut_short} bodies read only in part (still streaming)",
    )
    findings = Findings()
    for problem in problems[:MAX_LISTED]:
        findings.add(
            f"{problem.kind}: {problem.message}",
            expected="4xx for invalid input, documented answers",
            observed=problem.reproduce,
        )
    for problem in problems:
        evidence.note(problem.kind, problem.reproduce)

    _undocumented_method(operation, openapi_document, http, findings)
    findings.raise_if_any()


def _undocumented_method(
    operation: Operation, document: OpenAPIDocument, http: HttpProbe, findings: Findings
) -> None:
    """A method the path does not document is answered 405 with Allow (RFC 9110 §15.5.6)."""
    documented = {
        m
        for m in HTTP_METHODS
        if m in (document.data["paths"].get(operation.raw_path) or {})
    }
    method = next((m for m in UNDOCUMENTED_CANDIDATES if m not in documented), None)
    if method is None or operation.method != min(documented):
        return
    response = http.request(method.upper(), sample_path(operation, document.data))
    if response.status != 405:
        findings.add(
            f"{method.upper()} {operation.path} (undocumented) answered {response.status}",
            expected=405,
            observed=response.status,
        )
    elif not response.headers.get("allow"):
        findings.add(
            f"the 405 for {method.upper()} {operation.path} has no Allow header",
            severity="warning",
            expected="Allow: ...",
            observed="absent",
        )
    if find_stack_trace(response.text):
        findings.add(
            "an error body carries a stack trace",
            expected="no internals",
            observed=method.upper(),
        )


def _credentials(
    operation: Operation, caller: Caller, settings: Settings
) -> dict[str, str]:
    if operation.is_public:
        return {}
    configured = set(settings.credentials.schemes())
    for requirement in operation.requirements:
        if requirement and set(requirement) <= configured:
            headers: dict[str, str] = {}
            for name, scopes in requirement.items():
                headers |= caller.credentials(name, list(scopes)).headers
            return headers
    pytest.skip(
        f"needs credentials for {' or '.join(operation.scheme_names())} in the profile"
    )
    raise CheckFailed("unreachable")
