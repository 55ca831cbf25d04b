"""The overview's arithmetic on its own: histogram percentiles and the traffic tally's bounds."""

from __future__ import annotations

import math

import pytest

from stowage.core.contracts.overview import RequestRecord
from stowage.plugins.overview.samples import MetricSample, between, quantile
from stowage.plugins.overview.traffic import MAX_BUCKETS_PER_SLOT, RECENT_ERRORS, TrafficTally


def test_quantiles_interpolate_inside_the_bucket_holding_the_rank() -> None:
    histogram = ((0.1, 50.0), (0.2, 90.0), (math.inf, 100.0))
    assert quantile(0.25, histogram) == 0.05
    assert quantile(0.5, histogram) == 0.1
    assert quantile(0.7, histogram) == pytest.approx(0.15)
    assert quantile(0.99, histogram) == 0.2  # in +Inf: the highest finite bound is all we know
    assert quantile(0.5, ((0.1, 0.0), (math.inf, 0.0))) is None
    assert quantile(0.5, ()) is None


def test_between_subtracts_cumulative_readings() -> None:
    old = MetricSample(at=0, s3_requests=10, s3_errors=1, s3_latency=((0.1, 10.0), (math.inf, 10.0)))
    new = MetricSample(at=60, s3_requests=30, s3_errors=1, s3_latency=((0.1, 10.0), (math.inf, 30.0)))
    api, s3 = between(old, new)
    assert (api.requests, s3.requests, s3.errors) == (0, 20, 0)
    assert s3.latency.p50_ms == 100.0  # the 20 new requests were all slower than 0.1 s
    assert api.latency.p50_ms is None


class _Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _record(bucket: str, status: int = 200, backend: str = "b1") -> RequestRecord:
    return RequestRecord("s3", "GET", f"/{bucket}/k", status, backend, bucket, 1, 2)


def test_tally_bounds_buckets_errors_and_hours() -> None:
    clock = _Clock()
    tally = TrafficTally(lambda backend: backend == "b1", clock)
    for index in range(MAX_BUCKETS_PER_SLOT + 100):  # made-up names cannot grow memory past the cap
        tally.observe(_record(f"bucket-{index}"))
    assert len(tally.top_buckets(clock.now, limit=10_000)) == MAX_BUCKETS_PER_SLOT
    assert tally.hourly(clock.now)[-1].requests == MAX_BUCKETS_PER_SLOT + 100

    tally.observe(_record("bucket-0", backend="forged"))  # unknown backend: no bucket, no backend
    assert "forged" not in tally.by_backend(clock.now)
    for _ in range(RECENT_ERRORS + 10):
        tally.observe(_record("bucket-1", status=503))
    errors = tally.recent_errors()
    assert len(errors) == RECENT_ERRORS and errors[0].status == 503
    top = tally.top_buckets(clock.now, limit=1)[0]
    assert (top.bucket, top.requests, top.errors) == ("bucket-1", RECENT_ERRORS + 11, RECENT_ERRORS + 10)

    clock.now += 2 * 3600  # two hours on: the slots have left the window, the hours have not
    assert tally.top_buckets(clock.now) == []
    tally.observe(_record("bucket-2"))
    assert [t.bucket for t in tally.top_buckets(clock.now)] == ["bucket-2"]
    assert (
        sum(h.requests for h in tally.hourly(clock.now))
        == MAX_BUCKETS_PER_SLOT + 100 + 1 + RECENT_ERRORS + 10 + 1
    )
    clock.now += 24 * 3600
    assert sum(h.requests for h in tally.hourly(clock.now)) == 0
    assert tally.by_backend(clock.now) == {}
