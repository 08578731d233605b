"""One model for metrics, whichever source they came from.

A Prometheus scrape, OTLP points and a Prometheus server's query API all become a
:class:`Snapshot`: families by Prometheus-style name, each with its series. OTLP names
are translated the way OpenTelemetry's Prometheus compatibility rules do
(``http.server.request.duration`` in ``s`` becomes
``http_server_request_duration_seconds``; a monotonic sum gains ``_total``), so a
profile names a metric once and every source can be asked for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

Kind = Literal["counter", "gauge", "histogram", "summary", "unknown"]
LabelSet = tuple[tuple[str, str], ...]

_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
_UNIT_WORDS: Final = {
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "kBy": "kilobytes",
    "MBy": "megabytes",
    "%": "percent",
}


@dataclass(frozen=True)
class Series:
    """One labelled series: a value, or a histogram's count, sum and buckets."""

    labels: LabelSet
    value: float = 0.0
    sum: float | None = None
    buckets: tuple[tuple[float, float], ...] = ()

    @property
    def count(self) -> float:
        return self.value

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)


@dataclass
class Family:
    """A metric: its name, kind, unit and help, and its series by label set."""

    name: str
    kind: Kind
    help: str = ""
    unit: str = ""
    source_name: str = ""
    series: dict[LabelSet, Series] = field(default_factory=dict)

    def total(self, exclude: Iterable[str] = ()) -> float:
        """The sum over series, leaving out those with a label value in ``exclude``."""
        skipped = set(exclude)
        return sum(
            s.value
            for s in self.series.values()
            if not skipped.intersection(v for _, v in s.labels)
        )

    def bounds(self) -> list[float]:
        """The finite bucket boundaries of a histogram, as any series has them."""
        for series in self.series.values():
            return [b for b, _ in series.buckets if b != float("inf")]
        return []


@dataclass
class Snapshot:
    """Every family one source showed at one moment."""

    source: str
    families: dict[str, Family] = field(default_factory=dict)

    def series_keys(self) -> set[tuple[str, LabelSet]]:
        return {(f.name, key) for f in self.families.values() for key in f.series}

    def find(self, *names: str) -> Family | None:
        for name in names:
            if name in self.families:
                return self.families[name]
        return None


def labels_of(values: dict[str, object]) -> LabelSet:
    return tuple(sorted((sanitize(k), str(v)) for k, v in values.items()))


def sanitize(name: str) -> str:
    """A name with every character Prometheus does not allow replaced by ``_``."""
    cleaned = _INVALID.sub("_", name)
    return f"_{cleaned}" if cleaned[:1].isdigit() else cleaned


def prometheus_name(name: str, unit: str, kind: Kind) -> str:
    """The Prometheus name of an OTLP instrument, after the compatibility rules."""
    base = sanitize(name)
    word = unit_word(unit)
    if word and not base.endswith(f"_{word}"):
        base = f"{base}_{word}"
    if kind == "counter" and not base.endswith("_total"):
        base = f"{base}_total"
    return base


def unit_word(unit: str) -> str:
    """The word for a UCUM unit; annotations such as ``{order}`` have none."""
    if not unit or unit.startswith("{") or unit == "1":
        return ""
    if "/" in unit:
        left, _, right = unit.partition("/")
        return (
            f"{unit_word(left) or sanitize(left)}_per_{_UNIT_WORDS.get(right, right)}"
        )
    return _UNIT_WORDS.get(unit, sanitize(unit))
