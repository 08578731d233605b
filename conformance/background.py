"""Probes that wait by nature, started together once the target is up.

Timeout, shutdown and configuration probes spend most of their time waiting for the
target: for a header timeout to expire, for an instance to drain and exit. Run one after
another they would add up; here each runs in a thread of one pool from the end of
collection, so a whole run lasts about as long as its single longest wait. A check then
collects its probe's result, waiting no longer than the probe's own bound.

Check modules declare their probes with :func:`scenario`; the plugin starts the ones
whose checks were selected (``-k`` and ``-m`` included).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Final

import pytest

from conformance.errors import ProbeError
from conformance.runtime import Runtime
from conformance.spec import spec_of
from conformance.state import RUNTIME_KEY

MAX_WORKERS: Final = 16
COLLECT_SLACK_S: Final = 10.0

Work = Callable[[Runtime], Any]


@dataclass(frozen=True)
class Scenario:
    """A named probe, the checks that read its result, and its time bound."""

    name: str
    checks: frozenset[str]
    work: Work
    bound: Callable[[Runtime], float]


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str, *, checks: Iterable[str], bound: Callable[[Runtime], float]
) -> Callable[[Work], Work]:
    """Register ``work`` as the probe ``name`` that the checks ``checks`` read."""

    def register(work: Work) -> Work:
        SCENARIOS[name] = Scenario(name, frozenset(checks), work, bound)
        return work

    return register


class BackgroundProbes:
    """A thread pool running scenarios against one run's target."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._pool = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="conformance")
        self._futures: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()

    def start(self, names: Iterable[str]) -> None:
        for name in names:
            self._submit(SCENARIOS[name])

    def result(self, name: str) -> Any:
        """The scenario's result, started now if it was not yet; raises what it raised."""
        found = SCENARIOS[name]
        future = self._submit(found)
        limit = found.bound(self.runtime) + COLLECT_SLACK_S
        try:
            return future.result(timeout=limit)
        except FutureTimeout as exc:
            msg = (
                f"the probe {name!r} did not finish within {limit:g} s; the target "
                "or the suite is stuck"
            )
            raise ProbeError(msg) from exc

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _submit(self, found: Scenario) -> Future[Any]:
        with self._lock:
            if found.name not in self._futures:
                self._futures[found.name] = self._pool.submit(found.work, self.runtime)
            return self._futures[found.name]


BACKGROUND_KEY = pytest.StashKey[BackgroundProbes]()


def reads_background(item: pytest.Item) -> bool:
    """Whether the item's check collects a scenario's result rather than probing itself.

    Such checks run after the others, by when their probes have mostly finished: run
    first, they would wait for instances still starting while the rest of the run idles.
    """
    spec = spec_of(item)
    return spec is not None and any(spec.id in s.checks for s in SCENARIOS.values())


def start_for_items(
    config: pytest.Config, runtime: Runtime, items: list[pytest.Item]
) -> None:
    """Start the scenarios the selected checks need, and stop the pool at the end."""
    selected = {spec.id for item in items if (spec := spec_of(item)) is not None}
    names = [s.name for s in SCENARIOS.values() if s.checks & selected]
    runner = BackgroundProbes(runtime)
    config.stash[BACKGROUND_KEY] = runner
    config.add_cleanup(runner.close)
    runner.start(names)


def probes_of(config: pytest.Config) -> BackgroundProbes:
    """The run's runner; one is made on demand when collection did not make one."""
    runner = config.stash.get(BACKGROUND_KEY, None)
    if runner is None:
        runner = BackgroundProbes(config.stash[RUNTIME_KEY])
        config.stash[BACKGROUND_KEY] = runner
        config.add_cleanup(runner.close)
    return runner
