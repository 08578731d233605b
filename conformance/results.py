"""Turn pytest's report of a check into the suite's verdict, and back.

pytest knows passed, failed and skipped per phase. The catalogue knows passed, failed,
skipped and error, with a severity: a failure of a warning-severity check does not fail
the run unless the user asks (``--strict``). This module is the single translation.
"""

from __future__ import annotations

from typing import Final

import pytest

from conformance.errors import CheckFailed, ProbeError
from conformance.redaction import Redactor
from conformance.reports.model import CheckResult, Outcome
from conformance.spec import CheckSpec
from conformance.state import DURATION_KEY, EVIDENCE_KEY

PASSING_WARNING: Final = "warning"


def result_for(
    item: pytest.Item,
    spec: CheckSpec,
    report: pytest.TestReport,
    call: pytest.CallInfo[None],
    redactor: Redactor,
) -> CheckResult | None:
    """The verdict this phase decides, or ``None`` when the phase decides nothing."""
    if report.when == "setup" and report.passed:
        return None
    if report.when == "teardown" and not report.failed:
        return None

    outcome, message, severity = _classify(report, call, spec)
    failure = call.excinfo.value if call.excinfo is not None else None
    evidence = item.stash.get(EVIDENCE_KEY, None)
    callspec = getattr(item, "callspec", None)
    return CheckResult(
        id=spec.id,
        category=spec.category,
        title=spec.title,
        severity=severity,
        outcome=outcome,
        message=redactor.text(message),
        duration_s=round(float(item.stash.get(DURATION_KEY, call.duration)), 4),
        nodeid=item.nodeid,
        instance=redactor.text(callspec.id) if callspec is not None else "",
        pattern=spec.pattern,
        remediation=spec.remediation,
        reference=spec.reference,
        expected=_redacted(getattr(failure, "expected", None), redactor),
        observed=_redacted(getattr(failure, "observed", None), redactor),
        evidence=evidence.to_json() if evidence is not None else {},
    )


def conclude(
    report: pytest.TestReport, result: CheckResult, call: pytest.CallInfo[None]
) -> None:
    """Replace pytest's traceback with the one-line verdict for the suite's own errors."""
    failure = call.excinfo.value if call.excinfo is not None else None
    if not isinstance(failure, CheckFailed | ProbeError):
        return

    lines = [f"{result.id} {result.outcome} ({result.severity}): {result.message}"]
    if result.expected is not None:
        lines.append(f"  expected: {result.expected}")
    if result.observed is not None:
        lines.append(f"  observed: {result.observed}")
    lines.append(f"  fix: {result.remediation}")
    report.longrepr = "\n".join(lines)


def is_tolerated_warning(result: CheckResult, strict: bool) -> bool:
    return result.outcome == "failed" and result.severity == "warning" and not strict


def _classify(
    report: pytest.TestReport,
    call: pytest.CallInfo[None],
    spec: CheckSpec,
) -> tuple[Outcome, str, str]:
    if report.skipped:
        return "skipped", _skip_reason(report), spec.severity

    if report.passed:
        return "passed", "", spec.severity

    failure = call.excinfo.value if call.excinfo is not None else None
    if isinstance(failure, CheckFailed):
        severity = failure.severity if spec.severity == "error" else "warning"
        return "failed", failure.message, severity
    if isinstance(failure, ProbeError):
        return "error", str(failure), spec.severity
    if isinstance(failure, AssertionError) and report.when == "call":
        return (
            "failed",
            str(failure).splitlines()[0] if str(failure) else "assertion failed",
            spec.severity,
        )

    kind = type(failure).__name__ if failure is not None else "error"
    return (
        "error",
        f"the check itself broke in {report.when} ({kind}: {failure})",
        spec.severity,
    )


def _skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr or "skipped")


def _redacted(value: object, redactor: Redactor) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        return redactor.text(value)
    return value
