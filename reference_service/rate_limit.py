"""Slow down password and API key guessing: failed attempts are counted and limited.

The guide asks for rate limiting on API key authentication; Basic passwords get the same.
Each client (its socket address, not a header it could forge) has a sliding window of
failed attempts per scheme. Past the limit, every attempt of that scheme from that
client is answered 429 with Retry-After until the oldest failure leaves the window.
Successful and anonymous requests are never counted.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

MAX_TRACKED_CLIENTS = 10_000


class FailureLimiter:
    """Counts failures per key in a sliding window; thread-safe and bounded in memory."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or ``None`` when it may now."""
        with self._lock:
            failures = self._recent(key)
            if len(failures) < self.limit:
                return None
            wait = failures[0] + self.window_s - self._clock()
            return max(1, math.ceil(wait))

    def record_failure(self, key: str) -> None:
        with self._lock:
            if key not in self._failures and len(self._failures) >= MAX_TRACKED_CLIENTS:
                self._forget_idle()
            failures = self._failures.setdefault(key, deque(maxlen=self.limit))
            failures.append(self._clock())

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    def _forget_idle(self) -> None:
        """Drop clients whose failures have all left the window (or the oldest half)."""
        horizon = self._clock() - self.window_s
        idle = [k for k, v in self._failures.items() if not v or v[-1] <= horizon]
        if not idle:
            idle = list(self._failures)[: len(self._failures) // 2]
        for key in idle:
            del self._failures[key]
