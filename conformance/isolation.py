"""Fresh instances for checks that disturb the target, started ahead and stopped behind.

Each check that locks out clients (SEC-08) gets an instance of its own. Starting one
takes the target's start-up time and stopping it its shutdown drain; done in line, both
add to the run for every such check. Here the next instance starts while the current
check runs, and a used one drains in the background, while the run goes on.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Final

from conformance.errors import LaunchError
from conformance.launcher import LaunchedTarget, Launcher

# Beyond the target's own start-up bound, which the launcher enforces.
START_SLACK_S: Final = 15.0


class IsolatedInstances:
    """Hands out ``wanted`` fresh instances, starting each next one ahead of its need."""

    def __init__(
        self, launcher: Launcher, wanted: int, startup_s: float, grace_s: float
    ) -> None:
        self.launcher = launcher
        self.remaining = wanted
        self.startup_s = startup_s
        self.grace_s = grace_s
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="conformance-isolated")
        self._next: Future[LaunchedTarget] | None = None

    def take(self) -> LaunchedTarget:
        """A fresh instance, ready; the one after it starts in the background."""
        ahead, self._next = self._next, None
        self.remaining -= 1
        # The next one starts now, beside this one when this one is not ready either.
        if self.remaining > 0:
            self._next = self._pool.submit(self.launcher.start)
        if ahead is None:
            return self.launcher.start()
        try:
            return ahead.result(timeout=self.startup_s + START_SLACK_S)
        except FutureTimeout as exc:
            msg = f"a fresh instance did not start within {self.startup_s:g} s"
            raise LaunchError(msg) from exc

    def release(self, instance: LaunchedTarget) -> None:
        """Stop a used instance without waiting for its drain."""
        self.launcher.stop_soon(instance, self.grace_s)

    def close(self) -> None:
        """Stop an instance started ahead that no check took."""
        ahead, self._next = self._next, None
        self._pool.shutdown(wait=False, cancel_futures=True)
        if ahead is not None and not ahead.cancelled():
            ahead.add_done_callback(self._release_started)

    def _release_started(self, future: Future[LaunchedTarget]) -> None:
        if future.exception() is None:
            self.release(future.result())
