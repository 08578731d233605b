"""The pytest plugin: options, hooks and the wiring between them.

Registered under the ``pytest11`` entry point, so ``pytest --target URL`` works from any
directory. Without a target the plugin stays silent and pytest runs as usual.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

from conformance import checks
from conformance.background import reads_background, start_for_items
from conformance.errors import ConformanceError, UsageError
from conformance.gate import Verdict, judge
from conformance.parametrize import SELECTIONS, label, values_for
from conformance.reports.junit import label_junit_file
from conformance.reports.terminal import render_summary
from conformance.reports.writers import write_reports
from conformance.results import (
    PASSING_WARNING,
    conclude,
    is_tolerated_warning,
    result_for,
)
from conformance.runtime import Runtime
from conformance.settings import is_active, resolve_settings
from conformance.spec import CATEGORIES, spec_of
from conformance.state import DURATION_KEY, RUNTIME_KEY

pytest_plugins = ["conformance.fixtures"]

REPORTS_KEY = pytest.StashKey[list[Path]]()
VERDICT_KEY = pytest.StashKey[Verdict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "conformance", "production-readiness checks of an HTTP service"
    )
    group.addoption(
        "--target", metavar="URL", help="base URL of the service under test"
    )
    group.addoption(
        "--target-cmd",
        metavar="CMD",
        help="command that starts the service; it gets a free loopback port through "
        "the profile's target.address_env (default HTTP_ADDR)",
    )
    group.addoption(
        "--openapi", metavar="PATH_OR_URL", help="the service's OpenAPI document"
    )
    group.addoption(
        "--profile", metavar="FILE", help="target profile (conformance.toml)"
    )
    group.addoption(
        "--fail-on",
        choices=("error", "warning", "never"),
        help="which failures fail the run: error-severity (default), warnings too, or none",
    )
    group.addoption(
        "--baseline",
        metavar="OLD.json",
        help="an earlier conformance.json: only checks that passed there and fail now "
        "fail the run",
    )
    group.addoption(
        "--allow-insecure-credentials",
        action="store_true",
        default=False,
        help="send the profile's credentials to a plain-http target off loopback",
    )
    group.addoption(
        "--report-dir",
        metavar="DIR",
        help="where reports are written (default: reports/)",
    )
    group.addoption(
        "--otlp-http",
        metavar="HOST:PORT",
        help="the suite's OTLP/HTTP receiver (default 127.0.0.1:4318; port 0 for any)",
    )
    group.addoption(
        "--otlp-grpc",
        metavar="HOST:PORT",
        help="the suite's OTLP/gRPC receiver (default 127.0.0.1:4317; port 0 for any)",
    )
    group.addoption(
        "--prometheus-url",
        metavar="URL",
        help="a Prometheus server that scrapes the target; metrics checks query it too",
    )
    group.addoption(
        "--target-log-file",
        metavar="PATH",
        help="a file the target writes its logs to, for the log checks "
        "(pytest's own --log-file is where pytest writes its logging)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for category in CATEGORIES:
        config.addinivalue_line(
            "markers", f"{category}: conformance checks of {category}"
        )
    if not is_active(vars(config.option), os.environ):
        return

    try:
        options = {**vars(config.option), "strict": _pytest_strict(config)}
        settings = resolve_settings(options, os.environ)
        config.stash[RUNTIME_KEY] = Runtime(settings)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from exc

    builtin = str(checks.PACKAGE_DIR)
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        if builtin not in config.args:
            config.args.append(builtin)
    else:
        config.args[:] = [builtin]


def pytest_collect_file(
    file_path: Path, parent: pytest.Collector
) -> pytest.Module | None:
    """Collect the built-in check modules, whose names need not match ``python_files``."""
    if file_path in checks.modules():
        module: pytest.Module = pytest.Module.from_parent(parent, path=file_path)
        return module
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is None:
        return

    runtime.close()
    del config.stash[RUNTIME_KEY]
    xml_path = getattr(config.option, "xmlpath", None)
    if xml_path:
        ids = {result.nodeid: result.id for result in runtime.report.results}
        label_junit_file(Path(xml_path), ids, runtime.redactor)


def pytest_sessionstart(session: pytest.Session) -> None:
    runtime = session.config.stash.get(RUNTIME_KEY, None)
    if runtime is None:
        return

    try:
        runtime.start()
    except ConformanceError as exc:
        raise pytest.UsageError(str(exc)) from exc


def pytest_report_header(config: pytest.Config) -> list[str]:
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is None:
        return []

    settings = runtime.settings
    lines = [f"conformance target: {runtime.report.target}"]
    if settings.profile_path:
        lines.append(f"conformance profile: {settings.profile_path}")
    lines.append(f"conformance reports: {settings.report_dir}")
    lines.append(f"conformance OTLP receiver: {runtime.receiver_summary()}")
    if settings.credentials.schemes():
        lines.append(
            f"conformance credentials for: {', '.join(settings.credentials.schemes())}"
        )
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    runtime = metafunc.config.stash.get(RUNTIME_KEY, None)
    for fixture in SELECTIONS:
        if fixture in metafunc.fixturenames:
            values, reason = values_for(fixture, runtime)
            if values:
                metafunc.parametrize(fixture, values, ids=[label(v) for v in values])
            else:
                skipped = pytest.param(None, marks=pytest.mark.skip(reason=reason))
                metafunc.parametrize(fixture, [skipped], ids=["none"])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the probes that wait (timeouts, shutdowns) so they overlap the others."""
    runtime = session.config.stash.get(RUNTIME_KEY, None)
    if runtime is not None and not session.config.option.collectonly:
        start_for_items(session.config, runtime, session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Mark each check with its category and ID before ``-m`` and ``-k`` select."""
    known = set(CATEGORIES)
    for item in items:
        spec = spec_of(item)
        if spec is None:
            continue
        if spec.category not in known:
            config.addinivalue_line("markers", f"{spec.category}: conformance checks")
            known.add(spec.category)
        item.add_marker(spec.category)
        item.extra_keyword_matches.add(spec.id)
        item.user_properties.append(("check_id", spec.id))

    # Checks that read background probes run once the probes have had time to finish;
    # checks that disturb a shared target (lockouts, say) run after all the others.
    items.sort(
        key=lambda item: (
            "isolated_http" in getattr(item, "fixturenames", ()),
            reads_background(item),
        )
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    runtime = item.config.stash.get(RUNTIME_KEY, None)
    spec = spec_of(item)
    if runtime is None or spec is None:
        return report

    item.stash[DURATION_KEY] = item.stash.get(DURATION_KEY, 0.0) + call.duration
    result = result_for(item, spec, report, call, runtime.redactor)
    if result is None:
        return report

    runtime.report.results.append(result)
    conclude(report, result, call)
    if is_tolerated_warning(result, runtime.settings.strict):
        report.outcome = "skipped"
        report.wasxfail = f"{PASSING_WARNING}: {result.message}"
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    runtime = session.config.stash.get(RUNTIME_KEY, None)
    if runtime is None or session.config.option.collectonly:
        return

    report = runtime.finish()
    try:
        paths = write_reports(report, runtime.settings.report_dir, runtime.redactor)
    except OSError as exc:
        msg = f"The reports could not be written to {str(runtime.settings.report_dir)!r}: {exc}"
        raise pytest.UsageError(msg) from exc
    session.config.stash[REPORTS_KEY] = paths

    verdict = judge(
        report.to_json()["checks"], runtime.settings.fail_on, runtime.baseline
    )
    session.config.stash[VERDICT_KEY] = verdict
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        failed = verdict.fails
        session.exitstatus = (
            pytest.ExitCode.TESTS_FAILED if failed else pytest.ExitCode.OK
        )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    runtime = config.stash.get(RUNTIME_KEY, None)
    if runtime is None or not runtime.report.results:
        return

    terminalreporter.section("conformance")
    text = render_summary(
        runtime.report,
        width=terminalreporter._tw.fullwidth,
        color=terminalreporter._tw.hasmarkup,
    )
    terminalreporter.write(runtime.redactor.text(text))
    for path in config.stash.get(REPORTS_KEY, []):
        terminalreporter.write_line(f"report written: {path}")
    verdict = config.stash.get(VERDICT_KEY, None)
    if verdict is not None and (verdict.counted or runtime.baseline is not None):
        terminalreporter.write_line(runtime.redactor.text(verdict.summary()))


def _pytest_strict(config: pytest.Config) -> bool:
    """pytest's own ``--strict`` also makes warning-severity failures fail the run."""
    if getattr(config.option, "strict", False):
        return True
    try:
        return str(config.getini("strict")).lower() in ("true", "1", "yes")
    except ValueError:
        return False
