"""``python -m conformance``: write a starting profile, gate on a report, merge a fleet.

The checks themselves run under pytest (``pytest --target URL``); these commands work
around a run: before it (``init``), after it in CI (``gate``), and across many (``merge``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.errors import ConformanceError
from conformance.fleet import merge, write_fleet
from conformance.gate import FAIL_ON_CHOICES, judge, load_report, parse_fail_on
from conformance.init_profile import inspect_target, render_profile

USAGE_ERROR = 4


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        code: int = arguments.run(arguments)
    except ConformanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    return code


def _init(arguments: argparse.Namespace) -> int:
    if not arguments.target and not arguments.openapi:
        print(
            "error: give --target URL, --openapi PATH_OR_URL, or both", file=sys.stderr
        )
        return USAGE_ERROR
    output = Path(arguments.output)
    if output.exists() and not arguments.force:
        print(f"error: {output} exists; pass --force to overwrite it", file=sys.stderr)
        return USAGE_ERROR

    seen = inspect_target(
        arguments.target.rstrip("/") if arguments.target else None, arguments.openapi
    )
    output.write_text(render_profile(seen), encoding="utf-8")
    print(f"profile written: {output}")
    return 0


def _gate(arguments: argparse.Namespace) -> int:
    report = load_report(Path(arguments.report), "report")
    baseline = (
        load_report(Path(arguments.baseline), "--baseline")
        if arguments.baseline
        else None
    )
    verdict = judge(
        report["checks"], parse_fail_on(arguments.fail_on, "--fail-on"), baseline
    )
    print(verdict.summary())
    return 1 if verdict.fails else 0


def _merge(arguments: argparse.Namespace) -> int:
    fleet = merge([Path(p) for p in arguments.reports])
    for path in write_fleet(fleet, Path(arguments.output)):
        print(f"fleet report written: {path}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write a starting conformance.toml")
    init.add_argument("--target", metavar="URL", help="a running service to inspect")
    init.add_argument("--openapi", metavar="PATH_OR_URL", help="its OpenAPI document")
    init.add_argument(
        "-o", "--output", default="conformance.toml", help="where to write"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=_init)

    gate = commands.add_parser("gate", help="exit 1 when a report fails the gate")
    gate.add_argument("report", help="the run's conformance.json")
    gate.add_argument("--fail-on", default="error", choices=FAIL_ON_CHOICES)
    gate.add_argument("--baseline", metavar="OLD.json", help="count only regressions")
    gate.set_defaults(run=_gate)

    fleet = commands.add_parser("merge", help="merge many services' reports")
    fleet.add_argument("reports", nargs="+", help="conformance.json files")
    fleet.add_argument("-o", "--output", default="fleet", help="output directory")
    fleet.set_defaults(run=_merge)
    return parser
