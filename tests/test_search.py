"""The rate search on fake probes: every rate it tries is worked out by hand."""

from __future__ import annotations

from asgi_bench.search import Probe, search


def rates(result):
    return [rate for rate, _ in result.probes]


def test_doubles_then_bisects_to_the_edge():
    # Passes up to 3000: 500, 1000, 2000 pass; 4000 fails; then the middle of the last
    # pass and the first failure: 3000 passes, 3500 fails, 3250 fails; 3000 and 3250 are
    # within 10% of each other (8.3%): capacity 3000.
    result = search(lambda rate: Probe(ok=rate <= 3000), start=500, limit=20000)
    assert rates(result) == [500, 1000, 2000, 4000, 3000, 3500, 3250]
    assert (result.capacity, result.stopped_by, result.lower_bound) == (3000, "bisection", False)


def test_stops_where_the_driver_cannot_offer_the_rate():
    result = search(lambda r: Probe(ok=True, driver_limited=r > 5000), start=1000, limit=50000)
    assert rates(result) == [1000, 2000, 4000, 8000]
    assert (result.capacity, result.stopped_by, result.lower_bound) == (4000, "driver", True)


def test_stops_at_the_limit_when_everything_passes():
    result = search(lambda rate: Probe(ok=True), start=1000, limit=6000)
    assert rates(result) == [1000, 2000, 4000, 6000]
    assert (result.capacity, result.stopped_by, result.lower_bound) == (6000, "limit", True)


def test_nothing_passes():
    # 1000 fails; halve: 500 fails, 250 fails; 125 would be below start / 4: give up.
    result = search(lambda rate: Probe(ok=False), start=1000, limit=50000)
    assert rates(result) == [1000, 500, 250]
    assert result.capacity is None


def test_rates_keep_three_significant_digits():
    result = search(lambda rate: Probe(ok=rate <= 1234), start=1000, limit=9999, precision=0.01)
    assert all(len(str(int(rate)).rstrip("0")) <= 3 for rate in rates(result))
    assert result.capacity is not None and 1200 <= result.capacity <= 1234
