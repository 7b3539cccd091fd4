"""Percentiles and timing loops shared by every section."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loadtest.client import percentile


@dataclass(frozen=True)
class Summary:
    """Latency percentiles of one measured operation, in milliseconds."""

    n: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        ms = [s * 1000 for s in seconds]
        return cls(
            n=len(ms),
            p50_ms=percentile(ms, 50),
            p95_ms=percentile(ms, 95),
            p99_ms=percentile(ms, 99),
            mean_ms=statistics.fmean(ms) if ms else math.nan,
            max_ms=max(ms) if ms else math.nan,
        )


def median(values: Sequence[float]) -> float:
    """The median, NaN for no values."""
    return statistics.median(values) if values else math.nan


def time_calls(
    call: Callable[[int], object],
    calls: int,
    *,
    prepare: Callable[[int], object] | None = None,
    warmup: int = 0,
) -> list[float]:
    """Seconds taken by each of `calls` calls of `call(i)`, after `warmup` untimed ones.

    `i` runs on across the warm-up, so an index can name a unique resource; `prepare(i)` runs
    untimed before each call.
    """
    samples: list[float] = []
    clock = time.perf_counter
    for i in range(warmup + calls):
        if prepare is not None:
            prepare(i)
        start = clock()
        call(i)
        elapsed = clock() - start
        if i >= warmup:
            samples.append(elapsed)
    return samples
