"""The HTML report in a real browser: target-controlled markup stays inert text."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from tests.support import REPO

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM: Final = Path("/usr/bin/chromium")
LAUNCH_ARGS: Final = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAYLOAD_APP: Final = REPO / "tests" / "targets" / "payload_app.py"
PLAIN_APP: Final = "tests.targets.plain_app:app"
SCREENSHOT_DIR: Final = REPO / "reports" / "screenshots"
PAYLOAD_PROFILE: Final = """
[target]
request_timeout_s = 2
startup_timeout_s = 15

[expect]
header_timeout_s = 1
read_timeout_s = 1
idle_timeout_s = 1
shutdown_grace_s = 2

[tracing]
flush_window_s = 2

[metrics]
flush_window_s = 2

[fuzzing]
examples_per_operation = 2
budget_s = 3
"""

_missing = (
    "playwright is not installed (pip install playwright)"
    if importlib.util.find_spec("playwright") is None
    else f"chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if not CHROMIUM.exists()
    else None
)
pytestmark = pytest.mark.skipif(_missing is not None, reason=_missing or "")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield launched
        launched.close()


def test_payloads_in_every_target_controlled_place_do_not_run(
    pytester: pytest.Pytester, browser: Browser
) -> None:
    """Payloads in bodies, headers, spans, logs, metrics and OpenAPI render as text."""
    profile = pytester.makefile(".toml", conformance=PAYLOAD_PROFILE)
    command = f"{sys.executable} {PAYLOAD_APP}"

    result = pytester.runpytest(
        "--target-cmd", command, "--profile", str(profile), "-m", "not resilience"
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-2000:]
    report = pytester.path / "reports" / "index.html"
    html = report.read_text()
    assert not re.search(r"<(script|img|svg)\b", html, re.IGNORECASE)
    # Escaping alone must hold: the page is loaded with its CSP switched off.
    context = browser.new_context(bypass_csp=True, java_script_enabled=True)
    page = context.new_page()
    page.goto(report.as_uri())
    page.wait_for_load_state("load")

    assert page.evaluate("() => window.__pwned") is None
    assert page.title() != "pwned"
    assert page.locator("table.scores").first.is_visible()
    text = page.inner_text("body")
    assert "window.__pwned=1" in text, "the payloads never reached the report"
    assert "javascript:" not in " ".join(
        page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    )
    context.close()


def test_a_normal_report_renders_for_a_screenshot(
    pytester: pytest.Pytester, browser: Browser, serve: Callable[..., str]
) -> None:
    """The report of a plain app renders its summary table; a screenshot is kept."""
    profile = pytester.makefile(".toml", conformance=PAYLOAD_PROFILE)
    pytester.runpytest(
        "--target",
        serve(PLAIN_APP),
        "--profile",
        str(profile),
        "-m",
        "not resilience",
    )
    report = pytester.path / "reports" / "index.html"

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(report.as_uri())

    assert page.locator("table.scores").first.is_visible()
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOT_DIR / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()
    shutil.copy(shot, pytester.path / "report.png")
