"""Slow down password and API key guessing: failed attempts are counted and limited.

The guide asks for rate limiting on API key authentication; Basic passwords get the
same. Each client (its socket address, not a header it could forge) has a moving
window of failed attempts per scheme. Past the limit, every attempt of that scheme
from that client is answered 429 with Retry-After until the oldest failure leaves
the window. Successful and anonymous requests are never counted.

The counting is the `limits` library's moving-window strategy over its in-memory
storage, which drops expired entries by itself. A service running several replicas
points `limits` at a shared storage (Redis, Memcached) instead, so a client cannot
multiply its attempts by spreading them over replicas.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


class FailureLimiter:
    """Failed attempts per key within a moving window of whole seconds."""

    def __init__(self, limit: int, window_s: float) -> None:
        # `limits` counts windows in whole seconds; round up so none gets shorter.
        self.window_s = max(1, math.ceil(window_s))
        self.limit = limit
        self._item = RateLimitItemPerSecond(
            limit, self.window_s, namespace="auth-failures"
        )
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or ``None`` when it may now."""
        if self._limiter.test(self._item, key):
            return None

        reset_at, _ = self._limiter.get_window_stats(self._item, key)
        return max(1, math.ceil(reset_at - time.time()))

    def record_failure(self, key: str) -> None:
        """Count one failed attempt of ``key``."""
        self._limiter.hit(self._item, key)
