"""What a check is: its identity, category, severity and remediation.

A check is a pytest test function decorated with :func:`check`. The decorator records a
:class:`CheckSpec` on the function; at collection the plugin gives the check its category
as a marker (registering categories of users' own), so that ``-m security`` selects it
and every report can name it. Built-in checks and users' own checks use the same
decorator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import pytest

from conformance.errors import Severity

CATEGORIES: Final = (
    "tracing",
    "metrics",
    "logs",
    "health",
    "debug",
    "security",
    "resilience",
    "configuration",
)
"""Built-in categories, in report order. Users' checks may add their own."""

CHECK_ID_PATTERN: Final = re.compile(r"^[A-Z][A-Z0-9]{1,9}-\d{2,3}$")
CATEGORY_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
SPEC_ATTRIBUTE: Final = "__conformance_check__"
REFERENCE_ROOT: Final = "reference_service/"

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class CheckSpec:
    """The stable identity of one check, as the catalogue defines it."""

    id: str
    category: str
    title: str
    severity: Severity
    pattern: str
    remediation: str
    reference: str = ""

    @property
    def keyword(self) -> str:
        """The check's ID as ``-k`` matches it."""
        return self.id


def check(
    id: str,
    *,
    category: str,
    title: str,
    pattern: str,
    remediation: str,
    severity: Severity = "error",
    reference: str = "",
) -> Callable[[F], F]:
    """Declare a test function as the check ``id``.

    ``pattern`` says in a sentence what production pattern is enforced and why;
    ``remediation`` says how to fix a failure; ``reference`` names the place in the
    reference service that implements the pattern.
    """
    if not CATEGORY_PATTERN.match(category):
        msg = f"Check category {category!r} must be a lower-case word, like 'security'."
        raise ValueError(msg)
    if not CHECK_ID_PATTERN.match(id):
        msg = f"Check ID {id!r} must look like 'ABC-01': a capital prefix, a dash, digits."
        raise ValueError(msg)

    spec = CheckSpec(
        id=id,
        category=category,
        title=title,
        severity=severity,
        pattern=pattern,
        remediation=remediation,
        reference=reference,
    )

    def decorate(function: F) -> F:
        setattr(function, SPEC_ATTRIBUTE, spec)
        return function

    return decorate


def spec_of(item: pytest.Item) -> CheckSpec | None:
    """The spec of a collected check, or ``None`` for an ordinary test."""
    function = getattr(item, "function", None)
    spec = getattr(function, SPEC_ATTRIBUTE, None)

    return spec if isinstance(spec, CheckSpec) else None
