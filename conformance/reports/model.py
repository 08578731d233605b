"""The run as the reports see it: one result per check instance, and their summary.

Every writer (terminal, HTML, JSON) reads this model and nothing else, so the three agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from conformance.spec import CATEGORIES

Outcome = Literal["passed", "failed", "skipped", "error"]
OUTCOMES: Final[tuple[Outcome, ...]] = ("passed", "failed", "skipped", "error")
SCHEMA_VERSION: Final = 1


@dataclass
class CheckResult:
    """The verdict on one instance of one check, with what it rests on."""

    id: str
    category: str
    title: str
    severity: str
    outcome: Outcome
    message: str
    duration_s: float
    nodeid: str
    instance: str = ""
    pattern: str = ""
    remediation: str = ""
    reference: str = ""
    expected: Any = None
    observed: Any = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def counts_against(self) -> bool:
        """Whether this result fails the run (warnings fail only in strict mode)."""
        return self.outcome in ("failed", "error") and self.severity == "error"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunReport:
    """Everything one run found."""

    target: str
    started: str
    duration_s: float = 0.0
    strict: bool = False
    openapi: str | None = None
    results: list[CheckResult] = field(default_factory=list)

    def categories(self) -> list[str]:
        present = {r.category for r in self.results}
        ordered = [c for c in CATEGORIES if c in present]
        return ordered + sorted(present - set(ordered))

    def in_category(self, category: str) -> list[CheckResult]:
        return sorted(
            (r for r in self.results if r.category == category), key=lambda r: r.id
        )

    def summary(self) -> dict[str, Any]:
        outcomes = Counter(r.outcome for r in self.results)
        per_category = {
            category: _category_summary(self.in_category(category))
            for category in self.categories()
        }
        return {
            "total": len(self.results),
            "outcomes": {o: outcomes.get(o, 0) for o in OUTCOMES},
            "warnings": sum(
                1
                for r in self.results
                if r.outcome == "failed" and r.severity == "warning"
            ),
            "score": score(self.results),
            "categories": per_category,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "target": self.target,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "strict": self.strict,
            "openapi": self.openapi,
            "summary": self.summary(),
            "checks": [r.to_json() for r in self.results],
        }


def score(results: list[CheckResult]) -> float | None:
    """Share of decided checks that passed, 0 to 100; skips are not decided."""
    decided = [r for r in results if r.outcome != "skipped"]
    if not decided:
        return None

    passed = sum(1 for r in decided if r.outcome == "passed")
    return round(100 * passed / len(decided), 1)


def _category_summary(results: list[CheckResult]) -> dict[str, Any]:
    outcomes = Counter(r.outcome for r in results)
    summary: dict[str, Any] = {o: outcomes.get(o, 0) for o in OUTCOMES}
    summary["score"] = score(results)
    return summary
