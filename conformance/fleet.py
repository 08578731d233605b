"""Many services' reports merged into one view of a fleet.

A platform team runs the suite per service (in a CI matrix, say) and merges the
``conformance.json`` files: a row per service, a score per category, each service's
failing checks, and the checks that fail across most of the fleet.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from conformance.gate import load_report

_environment = Environment(
    loader=PackageLoader("conformance.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


@dataclass(frozen=True)
class ServiceRow:
    name: str
    source: str
    score: float | None
    categories: dict[str, float | None]
    failing: list[str]


@dataclass(frozen=True)
class Fleet:
    services: list[ServiceRow]
    categories: list[str]
    common_failures: list[tuple[str, int]]

    def to_json(self) -> dict[str, Any]:
        return {
            "services": [asdict(s) for s in self.services],
            "categories": self.categories,
            "common_failures": [
                {"id": i, "services": n} for i, n in self.common_failures
            ],
        }


def merge(paths: list[Path]) -> Fleet:
    """Read every report; a check failing in at least half the services is common."""
    rows = [_row(path, load_report(path, "merge")) for path in paths]
    categories = sorted({c for row in rows for c in row.categories})
    counts = Counter(check_id for row in rows for check_id in set(row.failing))
    threshold = max(1, (len(rows) + 1) // 2)
    common = sorted(
        ((check_id, n) for check_id, n in counts.items() if n >= threshold),
        key=lambda item: (-item[1], item[0]),
    )
    return Fleet(rows, categories, common)


def write_fleet(fleet: Fleet, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    page = directory / "index.html"
    page.write_text(
        _environment.get_template("fleet.html.j2").render(fleet=fleet), "utf-8"
    )
    data = directory / "fleet.json"
    data.write_text(json.dumps(fleet.to_json(), indent=2), "utf-8")
    return [page, data]


def _row(path: Path, report: dict[str, Any]) -> ServiceRow:
    summary = report.get("summary", {})
    categories = {
        name: values.get("score")
        for name, values in summary.get("categories", {}).items()
    }
    failing = sorted(
        {
            str(c.get("id"))
            for c in report["checks"]
            if c.get("outcome") in ("failed", "error") and c.get("severity") == "error"
        }
    )
    return ServiceRow(
        name=str(report.get("target") or path.parent.name),
        source=str(path),
        score=summary.get("score"),
        categories=categories,
        failing=failing,
    )
