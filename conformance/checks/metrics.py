"""Metrics (MET-01 to MET-05): counted, in seconds, well named, bounded, declared.

Every check reads each source the target offers (its Prometheus endpoint, what it
pushed over OTLP, a Prometheus server that scrapes it) and judges each one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Final

import pytest

from conformance.calls import Caller
from conformance.evidence import Evidence
from conformance.findings import Findings
from conformance.metrics.lint import lint_exposition, lint_otlp
from conformance.metrics.model import Family, Snapshot
from conformance.metrics.sources import (
    MetricSource,
    OtlpSource,
    ScrapeSource,
    note_exposition,
    wait_until,
)
from conformance.profile import Profile, RequestSpec
from conformance.redaction import Redactor
from conformance.spec import check

METRICS: Final = "reference_service/metrics.py"
REQUEST_METRICS: Final = (
    "http_server_request_duration_seconds",
    "http_request_duration_seconds",
    "http_server_requests_seconds",
    "http_server_duration_milliseconds",
    "http_server_request_duration_milliseconds",
    "http_requests_total",
    "http_server_requests_total",
)
SCRAPE_WAIT_S: Final = 2.0
MONOTONIC: Final = ("counter", "histogram", "summary")


def request_family(snapshot: Snapshot, profile: Profile) -> Family | None:
    """The request latency histogram or request counter of a snapshot."""
    named = profile.metrics.request_metric
    if named:
        return snapshot.find(named)
    found = snapshot.find(*REQUEST_METRICS)
    if found is not None:
        return found
    for family in snapshot.families.values():
        words = family.name.lower()
        if family.kind == "histogram" and "request" in words and "duration" in words:
            return family
    return None


def window(source: MetricSource, profile: Profile) -> float:
    return (
        SCRAPE_WAIT_S
        if isinstance(source, ScrapeSource)
        else profile.metrics.flush_window_s
    )


def counted(snapshot: Snapshot, profile: Profile) -> float:
    family = request_family(snapshot, profile)
    return family.total(exclude=[profile.metrics.path]) if family else 0.0


@check(
    "MET-01",
    category="metrics",
    title="Served requests are counted, and counts never go backwards",
    pattern="A request counter that rises by exactly the requests served is what rates, "
    "error ratios and SLOs are computed from.",
    remediation="Record every request once, in one middleware, in a histogram or counter "
    "that only ever increases for the life of the process.",
    reference=METRICS,
)
def test_requests_are_counted(
    metric_sources: list[MetricSource],
    caller: Caller,
    probe_request: RequestSpec,
    profile: Profile,
    evidence: Evidence,
) -> None:
    count = profile.metrics.probe_count
    findings = Findings()
    for source in metric_sources:
        source.settle(window(source, profile))
        before = source.snapshot()
        if request_family(before, profile) is None:
            findings.add(
                f"{source.name}: no request count metric found",
                expected=" or ".join(REQUEST_METRICS[:2]),
                observed=sorted(before.families)[:20],
            )
            continue
        start = counted(before, profile)
        for _ in range(count):
            caller.call(probe_request)
        after = wait_until(
            source,
            _counted_reaches(profile, start + count),
            window(source, profile),
        )
        rise = counted(after, profile) - start
        evidence.note(f"{source.name} request count", f"{start:g} -> {start + rise:g}")
        if rise != count:
            findings.add(
                f"{source.name}: the request count rose by {rise:g} for {count} requests",
                expected=count,
                observed=rise,
            )
        _never_backwards(source, after, findings)
    findings.raise_if_any()


def _never_backwards(source: MetricSource, first: Snapshot, findings: Findings) -> None:
    previous = first
    for _ in range(3):
        current = source.snapshot()
        for family in current.families.values():
            old = previous.families.get(family.name)
            if old is None or family.kind not in MONOTONIC:
                continue
            for key, series in family.series.items():
                earlier = old.series.get(key)
                if earlier is not None and series.value < earlier.value:
                    findings.add(
                        f"{source.name}: {family.name}{dict(key)} went backwards "
                        "between two scrapes",
                        expected=f">= {earlier.value:g}",
                        observed=series.value,
                    )
                    return
        previous = current


@check(
    "MET-02",
    category="metrics",
    title="Request latency is a histogram in seconds that resolves 5 ms and 5 s",
    pattern="Latency histograms in the base unit, with buckets from milliseconds to "
    "seconds, let percentiles be computed across services.",
    remediation="Record durations in seconds (time.perf_counter() differences) in a "
    "histogram with buckets from 0.005 to 10, like OpenTelemetry's advised boundaries.",
    reference=METRICS,
)
def test_latency_histogram_is_in_seconds(
    metric_sources: list[MetricSource],
    caller: Caller,
    probe_request: RequestSpec,
    profile: Profile,
    evidence: Evidence,
) -> None:
    findings = Findings()
    for source in metric_sources:
        source.settle(window(source, profile))
        before = source.snapshot()
        family = request_family(before, profile)
        if family is None or family.kind != "histogram":
            findings.add(
                f"{source.name}: no request latency histogram found",
                expected="a histogram such as http_server_request_duration_seconds",
                observed=family.name if family else sorted(before.families)[:20],
            )
            continue
        _judge_unit_and_buckets(source, family, findings, evidence)

        elapsed = [caller.call(probe_request).elapsed_s for _ in range(5)]
        start = _count_and_sum(family, profile)
        after = wait_until(
            source,
            _histogram_reaches(profile, start[0] + 5),
            window(source, profile),
        )
        count, total = _count_and_sum(request_family(after, profile), profile)
        if count <= start[0]:
            continue
        recorded = (total - start[1]) / (count - start[0])
        observed = max(elapsed)
        evidence.note(
            f"{source.name} latency",
            f"recorded mean {recorded:.6f}; client-observed max {observed:.6f} s",
        )
        if recorded > observed * 10 + 0.01:
            findings.add(
                f"{source.name}: {family.name} records {recorded:.3f} per request while "
                f"requests took at most {observed:.3f} s: the values are not seconds",
                expected=f"about {observed:.4f}",
                observed=recorded,
            )
    findings.raise_if_any()


def _judge_unit_and_buckets(
    source: MetricSource, family: Family, findings: Findings, evidence: Evidence
) -> None:
    bounds = family.bounds()
    evidence.note(f"{source.name} {family.name} buckets", bounds, kind="metric")
    in_seconds = family.name.endswith("_seconds") or family.unit == "s"
    if not in_seconds:
        findings.add(
            f"{source.name}: {family.name} is not in seconds",
            expected="a _seconds name or the unit s",
            observed=family.unit or family.name,
        )
    if bounds and not (min(bounds) <= 0.005 and any(5 <= b <= 10 for b in bounds)):
        findings.add(
            f"{source.name}: {family.name}'s buckets do not resolve both 5 ms and 5 s",
            expected="boundaries from 0.005 or less up to between 5 and 10",
            observed=bounds,
        )


def _count_and_sum(family: Family | None, profile: Profile) -> tuple[float, float]:
    if family is None:
        return 0.0, 0.0
    skip = profile.metrics.path
    kept = [s for s in family.series.values() if skip not in (v for _, v in s.labels)]
    return sum(s.value for s in kept), sum(s.sum or 0.0 for s in kept)


@check(
    "MET-03",
    category="metrics",
    title="Metric names pass promtool's lint and OpenTelemetry's naming rules",
    pattern="Conventional names (counters ending in _total, base units, help text) make "
    "metrics self-describing and let standard dashboards and alerts find them.",
    remediation="Name counters *_total, use base units (seconds, bytes) in the name, give "
    "every metric help text; in OpenTelemetry put the unit in the unit field.",
    reference=METRICS,
)
def test_metric_names_follow_the_rules(
    metric_sources: list[MetricSource], redactor: Redactor, evidence: Evidence
) -> None:
    findings = Findings()
    for source in metric_sources:
        if isinstance(source, ScrapeSource):
            source.snapshot()
            note_exposition(evidence, source, redactor)
            problems = lint_exposition(source.last_text, source.last_content_type)
        elif isinstance(source, OtlpSource):
            problems = lint_otlp(source.snapshot())
        else:
            continue
        evidence.note(f"{source.name} problems", [str(p) for p in problems])
        for problem in problems:
            findings.add(
                f"{source.name}: {problem}",
                severity="error" if problem.promtool else "warning",
                expected="promtool check metrics passes",
                observed=str(problem),
            )
    findings.raise_if_any()


@check(
    "MET-04",
    category="metrics",
    title="Distinct ids and unknown paths add no series",
    pattern="Labels carry route templates and one bucket for unmatched routes, so "
    "scanners and many ids cannot grow the number of series without bound.",
    remediation="Label requests with the matched route template (http.route), and give "
    "every request that matched no route one shared value.",
    reference=METRICS,
)
def test_cardinality_is_bounded(
    metric_sources: list[MetricSource],
    caller: Caller,
    probe_request: RequestSpec,
    maybe_templated: list[RequestSpec],
    profile: Profile,
    evidence: Evidence,
) -> None:
    probes = _distinct_probes(maybe_templated, profile.metrics.distinct_probes)
    tokens = {token for token, _ in probes}
    findings = Findings()
    for source in metric_sources:
        source.settle(window(source, profile))
        before = source.snapshot()
        start = counted(before, profile)
        for _, spec in probes:
            caller.call(spec)
        wait_until(
            source,
            _counted_reaches(profile, start + len(probes)),
            window(source, profile),
        )
        time.sleep(0.2)
        after = source.snapshot()
        added = after.series_keys() - before.series_keys()
        evidence.note(
            f"{source.name} series",
            f"{len(before.series_keys())} -> {len(after.series_keys())}",
        )
        leaking = sorted(
            f"{name}{dict(labels)}"
            for name, labels in added
            if any(t in value for _, value in labels for t in tokens)
        )
        if leaking or len(added) >= len(probes) // 2:
            findings.add(
                f"{source.name}: {len(probes)} requests to distinct ids and unknown paths "
                f"added {len(added)} series"
                + (", labelled with the raw ids or paths" if leaking else ""),
                expected="a few series at most, labelled by route template",
                observed=(leaking or sorted(str(k) for k in added))[:10],
            )
    findings.raise_if_any()


def _distinct_probes(
    templated: list[RequestSpec], count: int
) -> list[tuple[str, RequestSpec]]:
    probes: list[tuple[str, RequestSpec]] = []
    half = count // 2
    if len(templated) >= 2:
        first, second = templated[0].path.split("/"), templated[1].path.split("/")
        varying = [
            i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b
        ]
        if varying and len(first) == len(second):
            for _ in range(half):
                token = secrets.token_hex(6)
                parts = list(first)
                parts[varying[0]] = token
                spec = templated[0].model_copy(update={"path": "/".join(parts)})
                probes.append((token, spec))
    while len(probes) < count:
        token = secrets.token_hex(6)
        probes.append((token, RequestSpec(path=f"/conformance-{token}/{token[:4]}")))
    return probes


@check(
    "MET-05",
    category="metrics",
    title="Declared business metrics record what they declare",
    pattern="Business metrics (orders per type, order latency) are part of a service's "
    "contract with its dashboards and alerts.",
    remediation="Record the declared counter once per event with its attributes, and the "
    "declared histogram once per operation, in the service's meter or registry.",
    reference=METRICS,
)
def test_business_metrics_behave(
    metric_sources: list[MetricSource],
    caller: Caller,
    profile: Profile,
    evidence: Evidence,
) -> None:
    declared = profile.metrics.business
    if not declared:
        pytest.skip(
            "needs business metrics declared in the profile: [[metrics.business]] with "
            "name, kind, request and labels"
        )
    findings = Findings()
    for source in metric_sources:
        for metric in declared:
            source.settle(window(source, profile))
            before = source.snapshot().families.get(metric.name)
            start = before.total() if before else 0.0
            caller.call(metric.request)
            expected = metric.increase if metric.kind == "counter" else 1.0
            after = wait_until(
                source,
                _total_reaches(metric.name, start + expected),
                window(source, profile),
            ).families.get(metric.name)
            rise = (after.total() if after else 0.0) - start
            evidence.note(
                f"{source.name} {metric.name}", f"{start:g} -> {start + rise:g}"
            )
            if after is None:
                findings.add(
                    f"{source.name}: {metric.name} is not recorded",
                    expected=metric.name,
                    observed="absent",
                )
                continue
            if rise != expected:
                findings.add(
                    f"{source.name}: {metric.name} rose by {rise:g} for {metric.request.label}",
                    expected=expected,
                    observed=rise,
                )
            names = {n for s in after.series.values() for n, _ in s.labels}
            missing = [label for label in metric.labels if label not in names]
            if missing:
                findings.add(
                    f"{source.name}: {metric.name} lacks the label {', '.join(missing)}",
                    expected=metric.labels,
                    observed=sorted(names),
                )
    findings.raise_if_any()


def _counted_reaches(profile: Profile, target: float) -> Callable[[Snapshot], bool]:
    return lambda snapshot: counted(snapshot, profile) >= target


def _histogram_reaches(profile: Profile, target: float) -> Callable[[Snapshot], bool]:
    def reached(snapshot: Snapshot) -> bool:
        family = request_family(snapshot, profile)
        return _count_and_sum(family, profile)[0] >= target

    return reached


def _total_reaches(name: str, target: float) -> Callable[[Snapshot], bool]:
    return lambda snapshot: _total(snapshot, name) >= target


def _total(snapshot: Snapshot, name: str) -> float:
    family = snapshot.families.get(name)
    return family.total() if family else 0.0
