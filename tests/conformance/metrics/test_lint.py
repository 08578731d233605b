"""The suite's Prometheus lint agrees with ``promtool check metrics``."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conformance.metrics.lint import lint_exposition

HISTOGRAM = (
    "# HELP {n} Request time.\n# TYPE {n} histogram\n"
    '{n}_bucket{{le="0.005"}} 1\n{n}_bucket{{le="+Inf"}} 1\n{n}_sum 0.004\n{n}_count 1\n'
)
EXPOSITIONS = {
    "good counter": "# HELP orders_total Orders.\n# TYPE orders_total counter\n"
    'orders_total{type="retail"} 1\n',
    "good histogram": HISTOGRAM.format(n="http_server_request_duration_seconds"),
    "counter without _total": "# HELP orders Orders.\n# TYPE orders counter\norders 1\n",
    "_total_total": "# HELP a_total_total A.\n# TYPE a_total_total counter\n"
    "a_total_total 1\n",
    "milliseconds": HISTOGRAM.format(n="request_duration_milliseconds"),
    "abbreviated unit": "# HELP latency_ms L.\n# TYPE latency_ms gauge\nlatency_ms 3\n",
    "camelCase name": "# HELP requestCount_total R.\n# TYPE requestCount_total counter\n"
    "requestCount_total 1\n",
    "camelCase label": "# HELP hits_total H.\n# TYPE hits_total counter\n"
    'hits_total{statusCode="200"} 1\n',
    "_count on a gauge": "# HELP queue_count Q.\n# TYPE queue_count gauge\nqueue_count 2\n",
    "missing help": "# TYPE jobs_total counter\njobs_total 1\n",
    "duplicates": "# HELP d_total D.\n# TYPE d_total counter\n"
    'd_total{a="1"} 1\nd_total{a="1"} 2\n',
    "gauge ending in _total": "# HELP g_total G.\n# TYPE g_total gauge\ng_total 1\n",
    "type in name": "# HELP x_gauge X.\n# TYPE x_gauge gauge\nx_gauge 1\n",
    "colon": "# HELP a:b_total A.\n# TYPE a:b_total counter\na:b_total 1\n",
    "kilobytes": "# HELP mem_kilobytes M.\n# TYPE mem_kilobytes gauge\nmem_kilobytes 1\n",
    "untyped without help": "loose 1\n",
    "garbage": "this is { not metrics\n",
}


@pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="needs promtool (Debian package prometheus); CI installs it",
)
@pytest.mark.parametrize("name", sorted(EXPOSITIONS))
def test_lint_gives_promtools_verdict(name: str) -> None:
    """On each exposition our promtool-class problems exist exactly when promtool fails."""
    text = EXPOSITIONS[name]
    promtool = subprocess.run(
        ["promtool", "check", "metrics"],
        input=text.encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )

    ours = [p for p in lint_exposition(text) if p.promtool]
    assert bool(ours) == (promtool.returncode != 0), (ours, promtool.stdout)


def test_suite_rules_beyond_promtool_are_kept_apart() -> None:
    """Duplicated series and a doubled _total are reported as the suite's own findings."""
    duplicates = lint_exposition(EXPOSITIONS["duplicates"])
    doubled = lint_exposition(EXPOSITIONS["_total_total"])

    assert [p.rule for p in duplicates] == ["duplicate"]
    assert [p.rule for p in doubled] == ["total"]
    assert not any(p.promtool for p in duplicates + doubled)
