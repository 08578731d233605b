"""The adaptive sampler: a burst of root traces, then a steady rate; parents rule."""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, SamplingResult
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    set_span_in_context,
)

from reference_service.sampling import AdaptiveSampler, adaptive_sampler


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sampled(result: SamplingResult) -> bool:
    return result.decision is Decision.RECORD_AND_SAMPLE


def decisions(sampler: AdaptiveSampler, count: int) -> list[bool]:
    return [sampled(sampler.should_sample(None, 1, "GET /")) for _ in range(count)]


def test_first_burst_is_sampled_then_the_rate_applies() -> None:
    """The first `burst` roots are sampled, then one per 1/rate seconds."""
    clock = FakeClock()
    sampler = AdaptiveSampler(rate_per_s=2.0, burst=3, clock=clock)

    assert decisions(sampler, 5) == [True, True, True, False, False]
    clock.now += 0.5
    assert decisions(sampler, 2) == [True, False]
    clock.now += 10.0
    # An idle period refills the bucket, but never beyond the burst.
    assert decisions(sampler, 4) == [True, True, True, False]


def test_zero_burst_still_samples_at_the_rate() -> None:
    """With no burst, root traces are sampled at the steady rate from the start."""
    clock = FakeClock()
    sampler = AdaptiveSampler(rate_per_s=1.0, burst=0, clock=clock)

    assert decisions(sampler, 1) == [False]
    clock.now += 1.0
    assert decisions(sampler, 2) == [True, False]


def test_sampled_roots_keep_their_attributes() -> None:
    """The SDK builds a span from the sampler's attributes, so they pass through."""
    sampler = AdaptiveSampler(rate_per_s=1.0, burst=1)

    result = sampler.should_sample(None, 1, "GET /", attributes={"url.path": "/"})

    assert result.decision is Decision.RECORD_AND_SAMPLE
    assert dict(result.attributes) == {"url.path": "/"}


def test_remote_parent_decides_whatever_the_budget() -> None:
    """A sampled remote parent is always followed, an unsampled one never."""
    sampler = adaptive_sampler(rate_per_s=0.0, burst=0)

    def parent(flags: int) -> Context:
        span_context = SpanContext(7, 9, is_remote=True, trace_flags=TraceFlags(flags))
        return set_span_in_context(NonRecordingSpan(span_context))

    assert sampled(sampler.should_sample(parent(1), 7, "GET /"))
    assert not sampled(sampler.should_sample(parent(0), 7, "GET /"))
    assert not sampled(sampler.should_sample(None, 7, "GET /"))
