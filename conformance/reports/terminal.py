"""The terminal summary: a table per category, failing checks with their reasons."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from conformance.reports.model import CheckResult, RunReport

STYLES = {
    "passed": "green",
    "failed": "bold red",
    "warning": "yellow",
    "skipped": "dim",
    "error": "magenta",
}
REASON_WIDTH = 110
MAX_REASONS = 5
SEVERITY_ORDER = ["error", "failed", "warning", "skipped", "passed"]


def render_summary(report: RunReport, width: int, color: bool) -> str:
    """The summary as text, ready for pytest's terminal writer."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=max(width, 60),
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
    )
    for category in report.categories():
        console.print(_category_table(category, report.in_category(category)))

    summary = report.summary()
    counts = ", ".join(f"{n} {o}" for o, n in summary["outcomes"].items() if n)
    score = (
        "no decided checks"
        if summary["score"] is None
        else f"score {summary['score']:g}%"
    )
    console.print(
        Text(f"Conformance: {counts or 'no checks ran'} ({score})", style="bold")
    )
    return buffer.getvalue()


def shown_outcome(result: CheckResult) -> str:
    if result.outcome == "failed" and result.severity == "warning":
        return "warning"
    return result.outcome


def _category_table(category: str, results: list[CheckResult]) -> Table:
    """One row per check; instances that did not pass are listed with their reasons."""
    table = Table(title=category.capitalize(), title_justify="left", expand=False)
    table.add_column("Check", no_wrap=True)
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Title / reasons")
    by_id: dict[str, list[CheckResult]] = {}
    for result in results:
        by_id.setdefault(result.id, []).append(result)

    for check_id, instances in by_id.items():
        outcomes = [shown_outcome(r) for r in instances]
        worst = min(outcomes, key=SEVERITY_ORDER.index)
        tally = (
            worst
            if len(instances) == 1
            else f"{worst} {outcomes.count(worst)}/{len(instances)}"
        )
        detail = Text(instances[0].title)
        troubled = [r for r in instances if shown_outcome(r) != "passed"]
        for result in troubled[:MAX_REASONS]:
            where = (
                f"[{result.instance}] "
                if result.instance and len(instances) > 1
                else ""
            )
            reason = _one_line(where + (result.message or shown_outcome(result)))
            detail.append("\n" + reason, style=STYLES[shown_outcome(result)])
        if len(troubled) > MAX_REASONS:
            detail.append(f"\n… {len(troubled) - MAX_REASONS} more in the HTML report")
        table.add_row(Text(check_id), Text(tally, style=STYLES[worst]), detail)

    return table


def _one_line(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= REASON_WIDTH else line[: REASON_WIDTH - 1] + "…"
