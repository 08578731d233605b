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
    table = Table(title=category.capitalize(), title_justify="left", expand=False)
    table.add_column("Check", no_wrap=True)
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Title / reason")
    for result in results:
        outcome = shown_outcome(result)
        label = result.id + (f" [{result.instance}]" if result.instance else "")
        detail = Text(result.title)
        if outcome != "passed" and result.message:
            detail.append("\n" + _one_line(result.message), style=STYLES[outcome])
        table.add_row(Text(label), Text(outcome, style=STYLES[outcome]), detail)

    return table


def _one_line(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= REASON_WIDTH else line[: REASON_WIDTH - 1] + "…"
