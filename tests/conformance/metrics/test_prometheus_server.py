"""A real Prometheus server scraping the reference service is a metrics source."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from conformance.launcher import free_port
from tests.conftest import Serve

PROFILE = """
[metrics]
flush_window_s = 10
"""
READY_S = 30.0


@pytest.fixture
def prometheus(serve: Serve, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The reference service, and a Prometheus on loopback scraping it every second."""
    if shutil.which("prometheus") is None:
        pytest.skip(
            "needs the prometheus binary (Debian package prometheus); CI has it"
        )
    target = serve("reference_service.app:create_app", factory=True)
    port = free_port()
    config = tmp_path / "prometheus.yml"
    address = urlsplit(target).netloc
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: reference\n"
        f"    static_configs: [{{targets: ['{address}']}}]\n"
    )
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_scraping(url)
        yield target, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_scraping(url: str) -> None:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        try:
            body = httpx.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=1)
            if any(r["value"][1] == "1" for r in body.json()["data"]["result"]):
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    pytest.fail(f"Prometheus at {url} did not scrape the target within {READY_S:g} s")


@pytest.mark.usefixtures("secrets_env")
def test_request_counts_are_read_from_a_prometheus_server(
    pytester: pytest.Pytester, prometheus: tuple[str, str]
) -> None:
    """MET-01 passes through --prometheus-url as well as through the scrape."""
    target, url = prometheus
    profile = pytester.makefile(".toml", conformance=PROFILE)

    pytester.runpytest(
        "--target",
        target,
        "--profile",
        str(profile),
        "--prometheus-url",
        url,
        "-k",
        "MET-01",
    )

    report = json.loads((pytester.path / "reports" / "conformance.json").read_text())
    (entry,) = [c for c in report["checks"] if c["id"] == "MET-01"]
    assert entry["outcome"] == "passed", entry
    notes = [o["label"] for o in entry["evidence"]["observations"]]
    assert any(label.startswith("Prometheus server") for label in notes), notes
