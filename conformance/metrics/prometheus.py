"""Read Prometheus expositions (text format and OpenMetrics) into the metrics model.

Parsing is prometheus_client's: its text parser for ``text/plain`` and its OpenMetrics
parser for ``application/openmetrics-text``. A Prometheus server's HTTP query API is the
third source; its instant vectors and metadata become the same model.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Final

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families

from conformance.errors import ProbeError
from conformance.metrics.model import Family, Kind, LabelSet, Series, Snapshot

OPENMETRICS: Final = "application/openmetrics-text"
ACCEPT: Final = f"{OPENMETRICS};version=1.0.0,text/plain;version=0.0.4;q=0.5"
_KINDS: Final[dict[str, Kind]] = {
    "counter": "counter",
    "gauge": "gauge",
    "histogram": "histogram",
    "gaugehistogram": "histogram",
    "summary": "summary",
}


def parse_families(text: str, content_type: str = "text/plain") -> list[Metric]:
    """prometheus_client's families; ``ValueError`` says why the text is invalid."""
    if content_type.startswith(OPENMETRICS):
        return list(openmetrics_families(text))  # type: ignore[no-untyped-call]
    return list(text_families(text))


def parse_exposition(text: str, content_type: str, source: str) -> Snapshot:
    """A scraped exposition as a snapshot; raises ``ValueError`` when invalid."""
    snapshot = Snapshot(source)
    for metric in parse_families(text, content_type):
        kind = _KINDS.get(metric.type, "unknown")
        family = Family(metric.name, kind, metric.documentation, metric.unit)
        if kind == "counter":
            family.name = f"{metric.name}_total"
        _fill(family, metric)
        snapshot.families[family.name] = family
    return snapshot


def _fill(family: Family, metric: Metric) -> None:
    plain: dict[LabelSet, float] = {}
    sums: dict[LabelSet, float] = {}
    buckets: dict[LabelSet, list[tuple[float, float]]] = defaultdict(list)
    for sample in metric.samples:
        labels = dict(sample.labels)
        bound = labels.pop("le", None)
        key = tuple(sorted(labels.items()))
        suffix = sample.name[len(metric.name) :]
        if family.kind in ("histogram", "summary"):
            if suffix == "_count":
                plain[key] = float(sample.value)
            elif suffix == "_sum":
                sums[key] = float(sample.value)
            elif suffix == "_bucket" and bound is not None:
                buckets[key].append((float(bound), float(sample.value)))
        elif suffix in ("", "_total"):
            plain[key] = float(sample.value)
    for key, value in plain.items():
        family.series[key] = Series(
            key, value, sums.get(key), tuple(sorted(buckets.get(key, [])))
        )


def scrape(client: httpx.Client, url: str, timeout_s: float) -> tuple[str, str]:
    """The exposition at ``url`` and its content type; ProbeError when unreadable."""
    try:
        response = client.get(url, headers={"accept": ACCEPT}, timeout=timeout_s)
    except httpx.HTTPError as exc:
        msg = f"scraping {url} failed: {type(exc).__name__}: {exc}"
        raise ProbeError(msg) from exc
    if response.status_code != 200:
        msg = f"scraping {url} answered {response.status_code}, not 200"
        raise ProbeError(msg)
    content_type = response.headers.get("content-type", "text/plain")
    return response.text, content_type.split(";")[0].strip().lower()


class PrometheusServer:
    """A Prometheus server's query API, asked for the series of one selector."""

    def __init__(
        self, client: httpx.Client, url: str, selector: str, timeout_s: float
    ) -> None:
        self.client = client
        self.url = url.rstrip("/")
        self.selector = selector
        self.timeout_s = timeout_s

    def snapshot(self) -> Snapshot:
        matchers = ",".join(filter(None, ['__name__=~".+"', self.selector]))
        vector = self._get("/api/v1/query", {"query": "{" + matchers + "}"})
        metadata = self._get("/api/v1/metadata", {})
        return from_vector(vector.get("result", []), metadata, f"Prometheus {self.url}")

    def _get(self, path: str, params: dict[str, str]) -> Any:
        try:
            response = self.client.get(
                self.url + path, params=params, timeout=self.timeout_s
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            msg = f"the Prometheus server at {self.url} did not answer {path}: {exc}"
            raise ProbeError(msg) from exc
        if response.status_code != 200 or body.get("status") != "success":
            msg = f"the Prometheus server answered {path} with {response.status_code}"
            raise ProbeError(msg)
        return body.get("data", {})


def from_vector(
    result: list[dict[str, Any]], metadata: dict[str, Any], source: str
) -> Snapshot:
    """An instant vector, grouped into families with the server's metadata types."""
    kinds = {name: entries[0].get("type", "") for name, entries in metadata.items()}
    snapshot = Snapshot(source)
    partial: dict[tuple[str, LabelSet], dict[str, Any]] = defaultdict(dict)
    for item in result:
        labels = dict(item.get("metric", {}))
        name = labels.pop("__name__", "")
        for drop in ("job", "instance"):
            labels.pop(drop, None)
        value = float(item.get("value", [0, "0"])[1])
        family, role = _family_of(name, kinds)
        bound = labels.pop("le", None)
        slot = (family, tuple(sorted(labels.items())))
        if role == "_bucket" and bound is not None:
            partial[slot].setdefault("buckets", []).append((float(bound), value))
        else:
            partial[slot][role] = value
    for (name, key), parts in partial.items():
        declared = kinds.get(name) or kinds.get(name.removesuffix("_total"), "")
        kind = _KINDS.get(declared, "unknown")
        if name.endswith("_total") and kind == "unknown":
            kind = "counter"
        found = snapshot.families.setdefault(name, Family(name, kind))
        value = parts.get("_count", parts.get("", 0.0))
        found.series[key] = Series(
            key, value, parts.get("_sum"), tuple(sorted(parts.get("buckets", [])))
        )
    return snapshot


def _family_of(name: str, kinds: dict[str, str]) -> tuple[str, str]:
    for suffix in ("_bucket", "_count", "_sum"):
        base = name.removesuffix(suffix)
        if base != name and kinds.get(base) in ("histogram", "summary"):
            return base, suffix
    return name, ""
