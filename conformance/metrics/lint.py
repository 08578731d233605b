"""Naming rules: the lint of ``promtool check metrics``, and OpenTelemetry's rules.

No Python library implements promtool's lint, so its rules are written here and a test
holds them to promtool's own verdicts over good and bad expositions. Families and label
names come from prometheus_client's parser; only the declared names of the ``# TYPE``
and ``# HELP`` lines are read from the text, because the parser renames counters (it
adds ``_total``), and whether the exposition itself says ``_total`` is what the lint
judges.

Problems with ``promtool=True`` are the ones promtool reports; the others (a duplicated
series, ``_total_total``) are this suite's additions, kept apart so the two can be
compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from conformance.metrics.model import Snapshot
from conformance.metrics.prometheus import OPENMETRICS, parse_families

BASE_UNITS: Final = frozenset(
    {"amperes", "bytes", "celsius", "grams", "joules", "kelvin", "meters", "metres"}
    | {"seconds", "volts"}
)
NON_BASE_UNITS: Final = {
    "minutes": "seconds",
    "hours": "seconds",
    "days": "seconds",
    "weeks": "seconds",
    "kelvins": "kelvin",
    "fahrenheit": "celsius",
    "rankine": "celsius",
    "inches": "meters",
    "yards": "meters",
    "miles": "meters",
    "bits": "bytes",
    "calories": "joules",
    "pounds": "grams",
    "ounces": "grams",
}
PREFIXES: Final = [
    "pico",
    "nano",
    "micro",
    "milli",
    "centi",
    "deci",
    "deca",
    "hecto",
    "kilo",
    "kibi",
    "mega",
    "mibi",
    "giga",
    "gibi",
    "tera",
    "tebi",
    "peta",
    "pebi",
]
ABBREVIATIONS: Final = [
    "s",
    "ms",
    "us",
    "ns",
    "sec",
    "b",
    "kb",
    "mb",
    "gb",
    "tb",
    "pb",
    "m",
    "h",
    "d",
]
TYPE_WORDS: Final = ("counter", "gauge", "summary", "histogram", "gaugehistogram")
_CAMEL = re.compile(r"[a-z][A-Z]")
_DECLARATION = re.compile(r"^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$")


@dataclass(frozen=True)
class Problem:
    """One rule a metric breaks."""

    metric: str
    rule: str
    text: str
    promtool: bool = True

    def __str__(self) -> str:
        return f"{self.metric}: {self.text}"


def lint_exposition(text: str, content_type: str = "text/plain") -> list[Problem]:
    """Every problem promtool's lint (and this suite) finds in an exposition."""
    try:
        families = parse_families(text, content_type)
    except ValueError as exc:
        return [Problem("(exposition)", "parse", f"does not parse: {exc}")]

    helps, types = _declarations(text)
    openmetrics = content_type.startswith(OPENMETRICS)
    problems: list[Problem] = []
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for family in families:
        kind = family.type if family.type in TYPE_WORDS else "untyped"
        name = family.name
        if kind == "counter" and (f"{name}_total" in types or openmetrics):
            # OpenMetrics names counter families without _total, by its own rules.
            name = f"{name}_total"
        help_text = helps.get(name, "") or helps.get(family.name, "")
        problems += _family_rules(name, kind, help_text)
        labels = {label for s in family.samples for label in s.labels}
        problems += _label_rules(name, kind, labels)
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            if key in seen:
                problems.append(
                    Problem(name, "duplicate", "repeats a series", promtool=False)
                )
            seen.add(key)
        if name.endswith("_total_total"):
            problems.append(
                Problem(name, "total", "ends in _total twice", promtool=False)
            )
    return problems


def _declarations(text: str) -> tuple[dict[str, str], dict[str, str]]:
    helps: dict[str, str] = {}
    types: dict[str, str] = {}
    for line in text.splitlines():
        match = _DECLARATION.match(line.strip())
        if match:
            kind, name, rest = match.groups()
            (helps if kind == "HELP" else types)[name] = (rest or "").strip()
    return helps, types


def _family_rules(name: str, kind: str, help_text: str) -> list[Problem]:
    problems: list[Problem] = []

    def add(rule: str, text: str) -> None:
        problems.append(Problem(name, rule, text))

    if not help_text:
        add("help", "has no HELP text")
    unit = _unit_in(name)
    if unit is not None and unit[0] != unit[1]:
        add("unit", f"uses {unit[0]!r}; use the base unit {unit[1]!r}")
    lowered = name.lower()
    if kind == "counter" and not name.endswith("_total"):
        add("counter_total", "is a counter without the _total suffix")
    if kind not in ("counter", "untyped") and name.endswith("_total"):
        add("noncounter_total", f"is a {kind} ending in _total")
    if kind != "untyped":
        for suffix in ("_bucket", "_count", "_sum"):
            allowed = kind == "histogram" or (kind == "summary" and suffix != "_bucket")
            if name.endswith(suffix) and not allowed:
                add("reserved_suffix", f"is a {kind} ending in {suffix}")
        for word in TYPE_WORDS[:4]:
            if f"_{word}_" in lowered or lowered.endswith(f"_{word}"):
                add("type_in_name", f"has its type {word!r} in the name")
    if ":" in name:
        add("colon", "contains ':', which is reserved for recording rules")
    if _CAMEL.search(name):
        add("camel_case", "is camelCase; use snake_case")
    for short in ABBREVIATIONS:
        if f"_{short}_" in lowered or lowered.endswith(f"_{short}"):
            add("abbreviation", f"abbreviates a unit ({short!r}); spell it out")
            break
    return problems


def _label_rules(name: str, kind: str, labels: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    if any(_CAMEL.search(label) for label in labels):
        problems.append(Problem(name, "camel_case_label", "has camelCase label names"))
    if kind not in ("histogram", "untyped") and "le" in labels:
        problems.append(Problem(name, "reserved_label", "uses the reserved label le"))
    if kind not in ("summary", "untyped") and "quantile" in labels:
        problems.append(
            Problem(name, "reserved_label", "uses the reserved label quantile")
        )
    return problems


def _unit_in(name: str) -> tuple[str, str] | None:
    for token in name.split("_"):
        if token in BASE_UNITS:
            return token, token
        if token in NON_BASE_UNITS:
            return token, NON_BASE_UNITS[token]
        for prefix in PREFIXES:
            rest = token.removeprefix(prefix)
            if rest != token and (rest in BASE_UNITS or rest in NON_BASE_UNITS):
                return token, NON_BASE_UNITS.get(rest, rest)
    return None


_OTEL_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_UNIT_SUFFIXES = re.compile(
    r"[._](seconds|milliseconds|ms|microseconds|us|nanoseconds|ns|bytes|total)$"
)


def lint_otlp(snapshot: Snapshot) -> list[Problem]:
    """OpenTelemetry's naming rules for the instruments an OTLP source exported."""
    problems: list[Problem] = []
    for family in snapshot.families.values():
        name = family.source_name or family.name
        if not _OTEL_NAME.match(name):
            problems.append(
                Problem(name, "otel_name", "is not lowercase words joined by dots")
            )
        suffix = _UNIT_SUFFIXES.search(name)
        if suffix:
            problems.append(
                Problem(
                    name,
                    "otel_unit_in_name",
                    f"carries {suffix.group(1)!r} in its name; OpenTelemetry puts "
                    "units in the unit field and Prometheus exporters add suffixes",
                )
            )
        if family.kind == "histogram" and not family.unit:
            problems.append(Problem(name, "otel_unit", "is a histogram without a unit"))
    return problems
