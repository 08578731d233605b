"""Where the target's metrics can be read: a scrape, OTLP, a Prometheus server.

Each source answers :meth:`MetricSource.snapshot`; :func:`wait_until` re-reads one
against a monotonic deadline, because OTLP pushes and Prometheus scrapes arrive late.
OTLP is re-read as each export arrives rather than on a clock, so a wait ends with the
export that shows the change, not up to a poll period later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Protocol

import httpx

from conformance.errors import ProbeError
from conformance.evidence import Evidence
from conformance.metrics.model import Snapshot
from conformance.metrics.otlp import from_points
from conformance.metrics.prometheus import PrometheusServer, parse_exposition, scrape
from conformance.redaction import Redactor
from conformance.telemetry import TelemetryStore

POLL_S: Final = 0.25
# An export counts as begun after a moment only when it arrives this much later: the
# target may record a request just after answering it, and collecting takes a while.
EXPORT_MARGIN_S: Final = 0.25
SERVER_SETTLE_S: Final = 2.0
EVIDENCE_CHARS: Final = 3000


class MetricSource(Protocol):
    """A place the target's metrics can be read from."""

    name: str

    def snapshot(self) -> Snapshot: ...

    def settle(self, timeout_s: float) -> None:
        """Return once what the source shows has caught up with what was sent."""
        ...

    def await_news(self, timeout_s: float) -> None:
        """Return when the source may show something new, or after ``timeout_s``."""
        ...


class ScrapeSource:
    """The target's Prometheus endpoint, scraped on every snapshot."""

    def __init__(self, client: httpx.Client, url: str, timeout_s: float) -> None:
        self.client = client
        self.url = url
        self.timeout_s = timeout_s
        self.name = f"scrape {url}"
        self.last_text = ""
        self.last_content_type = "text/plain"

    def snapshot(self) -> Snapshot:
        text, content_type = scrape(self.client, self.url, self.timeout_s)
        self.last_text, self.last_content_type = text, content_type
        try:
            return parse_exposition(text, content_type, self.name)
        except ValueError as exc:
            msg = f"{self.url} answered an exposition that does not parse: {exc}"
            raise ProbeError(msg) from exc

    def settle(self, timeout_s: float) -> None:
        """A scrape is always current."""

    def await_news(self, timeout_s: float) -> None:
        """A scrape may change at any moment: wait one poll period."""
        time.sleep(min(POLL_S, timeout_s))


class OtlpSource:
    """What the target pushed to the suite's OTLP receiver so far.

    Instances the checks launch for themselves export to the same receiver, some while
    the metric checks run; only the points of the resource that exported first are
    read: the main instance, up before any other is launched (told apart by
    ``service.instance.id`` when the target sets it).
    """

    def __init__(self, telemetry: TelemetryStore) -> None:
        self.telemetry = telemetry
        self.name = "OTLP"
        self._seen = 0

    def snapshot(self) -> Snapshot:
        points = self.telemetry.metric_points()
        self._seen = len(points)
        if not points:
            return Snapshot(self.name)
        main = _resource_key(points[0].resource)
        own = [p for p in points if _resource_key(p.resource) == main]
        return from_points(own, self.name)

    def settle(self, timeout_s: float) -> None:
        """Wait for an export that started after this moment."""
        asked = time.monotonic()
        deadline = asked + timeout_s
        known = self.telemetry.metric_point_count()
        while (left := deadline - time.monotonic()) > 0:
            held = self.telemetry.wait_for_metric_points_beyond(known, left)
            if held == known:
                return
            known = held
            points = self.telemetry.metric_points()
            if points and points[-1].received_at > asked + EXPORT_MARGIN_S:
                return

    def await_news(self, timeout_s: float) -> None:
        """Wait for the next export after the last snapshot."""
        self.telemetry.wait_for_metric_points_beyond(self._seen, timeout_s)


def _resource_key(resource: dict[str, object]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, str(v)) for k, v in resource.items()))


class ServerSource:
    """A Prometheus server that scrapes the target (``--prometheus-url``)."""

    def __init__(self, server: PrometheusServer) -> None:
        self.server = server
        self.name = f"Prometheus server {server.url}"

    def snapshot(self) -> Snapshot:
        return self.server.snapshot()

    def await_news(self, timeout_s: float) -> None:
        """The server scrapes on its own schedule: wait one poll period."""
        time.sleep(min(POLL_S, timeout_s))

    def settle(self, timeout_s: float) -> None:
        """Wait until two reads a scrape apart agree (the server scrapes on its own)."""
        deadline = time.monotonic() + timeout_s
        previous = _values(self.snapshot())
        while time.monotonic() < deadline:
            time.sleep(SERVER_SETTLE_S)
            current = _values(self.snapshot())
            if current == previous:
                return
            previous = current


def _values(snapshot: Snapshot) -> dict[tuple[str, object], float]:
    return {
        (family.name, key): series.value
        for family in snapshot.families.values()
        for key, series in family.series.items()
    }


def wait_until(
    source: MetricSource,
    done: Callable[[Snapshot], bool],
    timeout_s: float,
) -> Snapshot:
    """Re-read ``source`` until ``done`` holds or ``timeout_s`` passes; the last read."""
    deadline = time.monotonic() + timeout_s
    latest = source.snapshot()
    while not done(latest) and (left := deadline - time.monotonic()) > 0:
        source.await_news(left)
        latest = source.snapshot()
    return latest


def note_exposition(
    evidence: Evidence, source: ScrapeSource, redactor: Redactor
) -> None:
    text = redactor.text(source.last_text[:EVIDENCE_CHARS])
    evidence.note(f"exposition from {source.url}", text, kind="metric")


def discover(
    client: httpx.Client,
    base_url: str,
    path: str,
    telemetry: TelemetryStore,
    prometheus: PrometheusServer | None,
    otlp_wait_s: float,
    timeout_s: float,
) -> tuple[list[MetricSource], list[str]]:
    """The sources that answer, and for those that do not, why."""
    found: list[MetricSource] = []
    missing: list[str] = []
    endpoint = ScrapeSource(client, base_url.rstrip("/") + path, timeout_s)
    try:
        if endpoint.snapshot().families:
            found.append(endpoint)
        else:
            missing.append(f"{endpoint.url} exposes no metric")
    except ProbeError as exc:
        missing.append(str(exc))

    deadline = time.monotonic() + otlp_wait_s
    while not telemetry.metric_points() and time.monotonic() < deadline:
        time.sleep(POLL_S)
    if telemetry.metric_points():
        found.append(OtlpSource(telemetry))
    else:
        missing.append(f"no OTLP metric points arrived within {otlp_wait_s:g} s")

    if prometheus is not None:
        found.append(ServerSource(prometheus))
    else:
        missing.append("no Prometheus server given (--prometheus-url)")
    return found, missing
