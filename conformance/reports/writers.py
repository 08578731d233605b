"""The report files one run writes, behind one small interface."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from conformance.redaction import Redactor
from conformance.reports.html import render_html
from conformance.reports.model import RunReport


class ReportWriter(Protocol):
    """Writes one file for a run into the report directory and returns its path."""

    def write(self, report: RunReport, directory: Path, redactor: Redactor) -> Path: ...


class JsonReportWriter:
    """``conformance.json``: the machine-readable contract CI gates read."""

    filename = "conformance.json"

    def write(self, report: RunReport, directory: Path, redactor: Redactor) -> Path:
        text = json.dumps(report.to_json(), indent=2, default=str)
        return _write(directory / self.filename, redactor.text(text))


class HtmlReportWriter:
    """``index.html``: one self-contained page for people."""

    filename = "index.html"

    def write(self, report: RunReport, directory: Path, redactor: Redactor) -> Path:
        return _write(directory / self.filename, redactor.text(render_html(report)))


DEFAULT_WRITERS: tuple[ReportWriter, ...] = (JsonReportWriter(), HtmlReportWriter())


def write_reports(
    report: RunReport,
    directory: Path,
    redactor: Redactor,
    writers: tuple[ReportWriter, ...] = DEFAULT_WRITERS,
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return [writer.write(report, directory, redactor) for writer in writers]


def _write(path: Path, text: str) -> Path:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return path
