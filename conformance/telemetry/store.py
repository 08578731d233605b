"""A bounded, thread-safe store of everything the target exported, and waits on it.

Transports add records from their own threads; checks wait for what they expect against
a monotonic deadline. Waiting sleeps on a condition that every addition notifies, and
each wake-up looks only at the records added since the last one, so a wait costs little
even when the store holds many thousands of spans. When a wait expires, its result says
what did arrive, because "nothing matched" alone does not tell a user what to fix.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from conformance.telemetry.model import LogRecord, MetricPoint, SpanRecord

T = TypeVar("T")
Predicate = Callable[[T], bool]

DEFAULT_CAPACITY: Final = 200_000
_NAMES_SHOWN: Final = 10


def _anything(_: object) -> bool:
    return True


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@dataclass(frozen=True)
class WaitResult(Generic[T]):
    """What a wait collected, whether that was enough, and what arrived in all."""

    items: list[T]
    satisfied: bool
    waited_s: float
    noun: str
    condition: str
    count: int
    timeout_s: float
    arrived: str

    def describe(self) -> str:
        """One sentence for a check's message or evidence."""
        found = len(self.items)
        one = f"{self.noun} {self.condition}"
        many = f"{self.noun}s {self.condition}"
        if self.satisfied:
            noun = one if found == 1 else many
            return f"{found} {noun} arrived within {self.waited_s:.1f} s"
        within = f"arrived within {self.timeout_s:g} s"
        if found == 0:
            head = f"no {one} {within}"
        else:
            head = f"only {found} of {self.count} {many} {within}"

        return f"{head}; {self.arrived}"


class TelemetryStore:
    """Spans, metric points and log records, each kind capped at ``capacity`` items.

    Items beyond the cap are dropped and counted in ``dropped``: a target that floods
    the receiver must not exhaust the suite's memory, and the transports report the
    drops back to the sender as an OTLP partial success.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            msg = f"the telemetry store's capacity must be at least 1, got {capacity!r}"
            raise ValueError(msg)
        self.capacity = capacity
        self._changed = threading.Condition(threading.Lock())
        self._requests: Counter[tuple[str, str]] = Counter()
        self._errors: Counter[tuple[str, str]] = Counter()
        self._reset()

    def _reset(self) -> None:
        self._epoch = getattr(self, "_epoch", 0) + 1
        self._spans: list[SpanRecord] = []
        self._spans_by_trace: dict[str, list[SpanRecord]] = {}
        self._points: list[MetricPoint] = []
        self._points_by_name: dict[str, list[MetricPoint]] = {}
        self._logs: list[LogRecord] = []
        self._logs_by_trace: dict[str, list[LogRecord]] = {}
        self._dropped = {"spans": 0, "metric_points": 0, "logs": 0}

    # Adding, from the transports' threads.

    def add_spans(self, records: Sequence[SpanRecord]) -> int:
        """Keep what fits under the cap; return how many were dropped."""
        with self._changed:
            kept = self._room(len(self._spans), records, "spans")
            self._spans.extend(kept)
            index = self._spans_by_trace
            for record in kept:
                bucket = index.get(record.trace_id)
                if bucket is None:
                    index[record.trace_id] = [record]
                else:
                    bucket.append(record)
            self._changed.notify_all()

        return len(records) - len(kept)

    def add_metric_points(self, points: Sequence[MetricPoint]) -> int:
        """Keep what fits under the cap; return how many were dropped."""
        with self._changed:
            kept = self._room(len(self._points), points, "metric_points")
            self._points.extend(kept)
            for point in kept:
                self._points_by_name.setdefault(point.name, []).append(point)
            self._changed.notify_all()

        return len(points) - len(kept)

    def add_logs(self, records: Sequence[LogRecord]) -> int:
        """Keep what fits under the cap; return how many were dropped."""
        with self._changed:
            kept = self._room(len(self._logs), records, "logs")
            self._logs.extend(kept)
            for record in kept:
                self._logs_by_trace.setdefault(record.trace_id, []).append(record)
            self._changed.notify_all()

        return len(records) - len(kept)

    def _room(self, held: int, items: Sequence[T], kind: str) -> Sequence[T]:
        free = max(0, self.capacity - held)
        if len(items) <= free:
            return items
        self._dropped[kind] += len(items) - free

        return items[:free]

    def record_request(self, signal: str, transport: str, *, ok: bool = True) -> None:
        """Count one export request, and separately the ones that failed."""
        with self._changed:
            self._requests[(signal, transport)] += 1
            if not ok:
                self._errors[(signal, transport)] += 1

    def clear(self) -> None:
        """Forget every record and drop count; request counters are kept."""
        with self._changed:
            self._reset()
            self._changed.notify_all()

    # Reading.

    @property
    def dropped(self) -> dict[str, int]:
        """Items dropped because the store was full, by kind."""
        with self._changed:
            return dict(self._dropped)

    @property
    def requests(self) -> dict[tuple[str, str], int]:
        """Export requests received, by ``(signal, transport)``."""
        with self._changed:
            return dict(self._requests)

    @property
    def errors(self) -> dict[tuple[str, str], int]:
        """Export requests that were refused or failed, by ``(signal, transport)``."""
        with self._changed:
            return dict(self._errors)

    def spans(
        self,
        trace_id: str | None = None,
        predicate: Predicate[SpanRecord] | None = None,
    ) -> list[SpanRecord]:
        with self._changed:
            if trace_id is None:
                found = list(self._spans)
            else:
                found = list(self._spans_by_trace.get(trace_id.lower(), ()))
        if predicate is None:
            return found

        return [span for span in found if predicate(span)]

    def metric_points(self, name: str | None = None) -> list[MetricPoint]:
        with self._changed:
            if name is None:
                return list(self._points)
            return list(self._points_by_name.get(name, ()))

    def metric_point_count(self) -> int:
        with self._changed:
            return len(self._points)

    def wait_for_metric_points_beyond(self, known: int, timeout_s: float) -> int:
        """Wait until more than ``known`` points are held (or fewer: a clear).

        Returns the count then held, at once when it already differs. Readers that
        poll would see an export only at their next tick; this wakes as it arrives.
        """
        end = time.monotonic() + timeout_s
        with self._changed:
            while len(self._points) == known and (left := end - time.monotonic()) > 0:
                self._changed.wait(left)
            return len(self._points)

    def logs(self, trace_id: str | None = None) -> list[LogRecord]:
        with self._changed:
            if trace_id is None:
                return list(self._logs)
            return list(self._logs_by_trace.get(trace_id.lower(), ()))

    # Waiting, from the checks.

    def wait_for_spans(
        self, predicate: Predicate[SpanRecord], *, count: int = 1, timeout_s: float
    ) -> WaitResult[SpanRecord]:
        """Wait until ``count`` spans match ``predicate`` or ``timeout_s`` passes."""
        return self._wait(
            lambda: self._spans,
            predicate,
            count=count,
            timeout_s=timeout_s,
            settle_s=0.0,
            noun="span",
            condition="matching the condition",
            arrived=self._spans_arrived,
        )

    def wait_for_trace(
        self,
        trace_id: str,
        *,
        count: int = 1,
        timeout_s: float,
        settle_s: float = 0.0,
    ) -> WaitResult[SpanRecord]:
        """Wait for ``count`` spans of one trace, then up to ``settle_s`` for more.

        Settling matters when a check must see every span of a request: a service that
        is instrumented twice exports its second server span a moment after the first.
        """
        trace_id = trace_id.lower()
        return self._wait(
            lambda: self._spans_by_trace.get(trace_id, []),
            _anything,
            count=count,
            timeout_s=timeout_s,
            settle_s=settle_s,
            noun="span",
            condition=f"with trace id {trace_id}",
            arrived=self._spans_arrived,
        )

    def wait_for_metric(
        self, name: str, timeout_s: float, *, count: int = 1
    ) -> WaitResult[MetricPoint]:
        """Wait until ``count`` data points of the metric ``name`` have arrived."""
        return self._wait(
            lambda: self._points_by_name.get(name, []),
            _anything,
            count=count,
            timeout_s=timeout_s,
            settle_s=0.0,
            noun="metric point",
            condition=f"named {name!r}",
            arrived=self._points_arrived,
        )

    def wait_for_logs(
        self, predicate: Predicate[LogRecord], timeout_s: float, *, count: int = 1
    ) -> WaitResult[LogRecord]:
        """Wait until ``count`` log records match ``predicate`` or time runs out."""
        return self._wait(
            lambda: self._logs,
            predicate,
            count=count,
            timeout_s=timeout_s,
            settle_s=0.0,
            noun="log record",
            condition="matching the condition",
            arrived=self._logs_arrived,
        )

    def _wait(
        self,
        source: Callable[[], list[T]],
        predicate: Predicate[T],
        *,
        count: int,
        timeout_s: float,
        settle_s: float,
        noun: str,
        condition: str,
        arrived: Callable[[], str],
    ) -> WaitResult[T]:
        start = time.monotonic()
        end = start + timeout_s
        settled_by: float | None = None
        matched: list[T] = []
        epoch, seen = -1, 0
        while True:
            with self._changed:
                if epoch != self._epoch:  # the first pass, or the store was cleared
                    epoch, seen, matched = self._epoch, 0, []
                items = source()
                while len(items) == seen and time.monotonic() < end:
                    self._changed.wait(end - time.monotonic())
                    if epoch != self._epoch:
                        break
                    items = source()
                fresh, seen = items[seen:], len(items)

            # The predicate is the caller's code: run it outside the lock.
            matched.extend(item for item in fresh if predicate(item))
            now = time.monotonic()
            if settled_by is None and len(matched) >= count:
                settled_by = now + settle_s
                end = settled_by
            if now >= end and epoch == self._epoch:
                break

        with self._changed:
            summary = arrived()

        return WaitResult(
            items=matched,
            satisfied=settled_by is not None,
            waited_s=time.monotonic() - start,
            noun=noun,
            condition=condition,
            count=count,
            timeout_s=timeout_s,
            arrived=summary,
        )

    # Sentences about what arrived, for expired waits; called with the lock held.

    def _spans_arrived(self) -> str:
        services = sorted({span.service_name for span in self._spans})
        text = (
            f"{_count(len(self._spans), 'span')} from "
            f"{_count(len(self._spans_by_trace), 'trace')} arrived in all, "
            f"services: {services[:_NAMES_SHOWN]}"
        )
        return text + self._dropped_note("spans")

    def _points_arrived(self) -> str:
        names = sorted(self._points_by_name)
        text = (
            f"{_count(len(self._points), 'metric point')} of "
            f"{_count(len(names), 'metric')} arrived in all, "
            f"names: {names[:_NAMES_SHOWN]}"
        )
        return text + self._dropped_note("metric_points")

    def _logs_arrived(self) -> str:
        services = sorted({log.service_name for log in self._logs})
        text = (
            f"{_count(len(self._logs), 'log record')} arrived in all, "
            f"services: {services[:_NAMES_SHOWN]}"
        )
        return text + self._dropped_note("logs")

    def _dropped_note(self, kind: str) -> str:
        dropped = self._dropped[kind]
        if not dropped:
            return ""

        return f"; {dropped} more were dropped because the store was full"
