"""The guide's adaptive sampler: every trace at first, then a steady rate.

Clue samples every request until it has seen a burst of them, then keeps to a
target number of traces per second, so a quiet service is traced completely
and a busy one costs a bounded amount. Here that is a token bucket: it starts
full with `burst` tokens, refills at `rate_per_s`, and each new root trace
takes one token or is dropped. Wrapped in `ParentBased`, the decision is made
once per trace, at its root; every other span follows its parent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.util.types import Attributes


class AdaptiveSampler(Sampler):
    """Samples the first `burst` root traces, then at most `rate_per_s` a second."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate_per_s
        self._burst = burst
        # One token must fit, or a zero burst would never sample again.
        self._capacity = float(max(burst, 1))
        self._tokens = float(burst)
        self._clock = clock
        self._refilled_at = clock()
        # Spans start on the event loop and in worker threads alike.
        self._lock = threading.Lock()

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if self._take_token():
            # The SDK builds the span from the attributes a sampler returns.
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, trace_state)

        return SamplingResult(Decision.DROP, None, trace_state)

    def get_description(self) -> str:
        return f"AdaptiveSampler{{rate={self._rate}/s, burst={self._burst}}}"

    def _take_token(self) -> bool:
        with self._lock:
            now = self._clock()
            elapsed = now - self._refilled_at
            self._refilled_at = now
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0

        return True


def adaptive_sampler(rate_per_s: float, burst: int) -> Sampler:
    """The service's sampler: adaptive at the root, the parent's choice below it.

    A sampled incoming `traceparent` is always honoured and one with the sampled
    flag off is never recorded, so a trace is either whole or absent.
    """
    return ParentBased(root=AdaptiveSampler(rate_per_s, burst))
