"""Collect several violations inside one check and fail once with all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.errors import CheckFailed, Severity


@dataclass(frozen=True)
class Finding:
    """One violation with its own severity, expected value and observed value."""

    message: str
    severity: Severity = "error"
    expected: Any = None
    observed: Any = None


class Findings:
    """The violations a check found so far; :meth:`raise_if_any` ends the check."""

    def __init__(self) -> None:
        self.items: list[Finding] = []

    def add(
        self,
        message: str,
        *,
        severity: Severity = "error",
        expected: Any = None,
        observed: Any = None,
    ) -> None:
        self.items.append(Finding(message, severity, expected, observed))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        """Fail with every finding; the worst severity becomes the check's."""
        if not self.items:
            return

        errors = [f for f in self.items if f.severity == "error"]
        worst: Severity = "error" if errors else "warning"
        first = (errors or self.items)[0]
        message = "; ".join(f.message for f in self.items)
        raise CheckFailed(
            message,
            expected=first.expected,
            observed=first.observed,
            severity=worst,
        )
