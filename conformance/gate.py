"""Whether a run fails a CI gate: by severity, and against a baseline when given.

Teams adopt gates gradually: ``--fail-on error`` (the default) fails on error-severity
failures, ``warning`` on warnings too, ``never`` reports without failing; a baseline
(an earlier ``conformance.json``) narrows the failures that count to regressions, checks
that passed then and do not now.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from conformance.errors import UsageError

FailOn = Literal["error", "warning", "never"]
FAIL_ON_CHOICES: Final = ("error", "warning", "never")


@dataclass(frozen=True)
class Verdict:
    """The gate's decision and the results it rests on."""

    fails: bool
    counted: list[str] = field(default_factory=list)
    regressions_only: bool = False

    def summary(self) -> str:
        if not self.counted:
            return "gate passed"
        scope = (
            "regressions against the baseline" if self.regressions_only else "failures"
        )
        shown = ", ".join(self.counted[:10]) + (" …" if len(self.counted) > 10 else "")
        return f"gate {'failed' if self.fails else 'passed'}: {len(self.counted)} {scope}: {shown}"


def judge(
    checks: Iterable[dict[str, Any]],
    fail_on: FailOn,
    baseline: dict[str, Any] | None = None,
) -> Verdict:
    """Decide from the ``checks`` entries of a report (the JSON shape)."""
    passed_before = _passed(baseline["checks"]) if baseline is not None else None
    counted: list[str] = []
    for entry in checks:
        if not _counts(entry, fail_on):
            continue
        key = _key(entry)
        if passed_before is not None and key not in passed_before:
            continue
        counted.append(" ".join(part for part in key if part))
    return Verdict(
        fails=bool(counted) and fail_on != "never",
        counted=counted,
        regressions_only=baseline is not None,
    )


def load_report(path: Path, option: str) -> dict[str, Any]:
    """A ``conformance.json`` the user named; problems are usage errors."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"{option} {str(path)!r} is not a readable conformance.json: {exc}."
        raise UsageError(msg) from exc
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        msg = f"{option} {str(path)!r} has no 'checks' list; pass a conformance.json."
        raise UsageError(msg)
    return data


def parse_fail_on(value: str, source: str) -> FailOn:
    for choice in FAIL_ON_CHOICES:
        if value == choice:
            return choice
    msg = f"{source} {value!r} is not one of {', '.join(FAIL_ON_CHOICES)}."
    raise UsageError(msg)


def _counts(entry: dict[str, Any], fail_on: FailOn) -> bool:
    if entry.get("outcome") not in ("failed", "error"):
        return False
    return entry.get("severity") == "error" or fail_on == "warning"


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    return str(entry.get("id", "")), str(entry.get("instance", ""))


def _passed(checks: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    return {_key(e) for e in checks if e.get("outcome") == "passed"}
