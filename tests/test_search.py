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


def test_bisects_up_to_what_the_driver_can_offer():
    # The server passes everything; the driver cannot offer over 5000. 1000, 2000, 4000
    # pass; 8000 the driver cannot offer; (4000 + 8000) / 2 = 6000: cannot either;
    # (4000 + 6000) / 2 = 5000 passes; 5500 cannot; 5000 and 5500 are within 10%: stop,
    # capacity at least 5000.
    result = search(lambda r: Probe(ok=True, driver_limited=r > 5000), start=1000, limit=50000)
    assert rates(result) == [1000, 2000, 4000, 8000, 6000, 5000, 5500]
    assert (result.capacity, result.stopped_by, result.lower_bound) == (5000, "driver", True)


def test_a_failure_below_the_driver_ceiling_is_the_edge():
    # Passes up to 3000, the driver cannot offer 4000 or more: 1000, 2000 pass, 4000 the
    # driver cannot, 3000 passes, 3500 fails (now the lowest bound: the server's edge),
    # 3250 fails: 3000 and 3250 within 10%: capacity 3000, found by bisection.
    result = search(
        lambda r: Probe(ok=r <= 3000, driver_limited=r >= 4000), start=1000, limit=50000
    )
    assert rates(result) == [1000, 2000, 4000, 3000, 3500, 3250]
    assert (result.capacity, result.stopped_by, result.lower_bound) == (3000, "bisection", False)


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
