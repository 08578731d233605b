"""Render ``index.html`` with Jinja2, autoescaping everything the target controls."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from conformance.reports.model import RunReport
from conformance.reports.timeline import timelines

_environment = Environment(
    loader=PackageLoader("conformance.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(report: RunReport) -> str:
    template = _environment.get_template("index.html.j2")
    return template.render(
        report=report,
        summary=report.summary(),
        pretty=_pretty,
        timelines=timelines,
    )


def _pretty(value: Any) -> str:
    """A value for the expected/observed cells: JSON when structured, text otherwise."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)
