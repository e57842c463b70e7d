"""The one rule for "driver-limited" (asgi_bench.verdict.limits), on constructed figures, and the
judge that turns it into a repeat's bound and note."""

from __future__ import annotations

import dataclasses

import pytest

from asgi_bench.load.open import Open
from asgi_bench.verdict.judge import Facts, Policy, judge
from asgi_bench.verdict.limits import DriverSide, driver_limit
from tests.fakes import WINDOW, client, job

# A 2 s window of an open step at 1,000 req/s: the schedule holds 2,000 arrivals.
KEPT = DriverSide("open", 0.5, 0.3, offered_rps=1000.0, seconds=2.0, scheduled=2000, sent=2000)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, None),
        # 1,980 of 2,000 is exactly 99%: kept. 1,979 is under: the driver's.
        ({"sent": 1980}, None),
        ({"sent": 1979}, "driver-limited: sent 990 of 1,000 req/s offered (1,979 of 2,000"),
        # The scheduler dispatched 100 of 2,000 late: 5%, the limit itself; 101 is over it.
        ({"late": 100}, None),
        ({"late": 101}, "driver-limited: 5.1% of arrivals dispatched over 1 ms late"),
        # 90% busy is the threshold, for either side.
        ({"driver_busy": 0.9}, "driver-limited: the busiest driver process was 90% busy"),
        ({"driver_busy": 0.89}, None),
        # Short of the schedule while the server was saturated or left requests unanswered:
        # the server held the connections, so it is the server's miss, not the driver's.
        ({"sent": 1000, "server_busy": 0.95}, None),
        # 2,000 scheduled tolerate 20 short: 21 unanswered is a server holding them; one lost
        # request does not excuse a driver that sent half the schedule.
        ({"sent": 1000, "unfinished": 21}, None),
        ({"sent": 1000, "unfinished": 20}, "driver-limited: sent 500 of 1,000"),
        ({"sent": 1000, "unfinished": 1}, "driver-limited: sent 500 of 1,000"),
        ({"sent": 1000, "server_busy": None}, "driver-limited: sent 500 of 1,000"),
        # At 25 arrivals one short is the window's edge, not the driver; two are 8%.
        ({"scheduled": 25, "sent": 24}, None),
        ({"scheduled": 25, "sent": 23}, "driver-limited: sent 12 of 1,000 req/s offered (23 of"),
        # A closed loop has no schedule: only the driver's CPU can make it the driver's.
        ({"load": "closed", "sent": 0, "late": 2000}, None),
    ],
)
def test_the_driver_limited_rule(change, expected):
    found = driver_limit(dataclasses.replace(KEPT, **change))
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.startswith(expected), found


def open_facts(scheduled: int, sent: int) -> Facts:
    facts = Facts(dataclasses.replace(job(), step=Open(1000.0)))
    stats = client(requests=scheduled)
    stats.scheduled_window, stats.sent_window = scheduled, sent
    facts.client = stats
    return facts


def test_a_step_whose_connections_sent_less_than_the_schedule_is_the_drivers():
    # The window is WINDOW.seconds long; the schedule held 1,000 req/s of it and the
    # connections sent 60% of that: achieved_rps is what went on the wire, not what the
    # scheduler dispatched.
    seconds = WINDOW.end - WINDOW.start
    facts = open_facts(scheduled=int(1000 * seconds), sent=int(600 * seconds))
    repeat = judge(facts, Policy(max_error_rate=1.0))
    assert repeat.achieved_rps == pytest.approx(600)
    assert repeat.bound == "driver"
    assert any(note.startswith("driver-limited: sent 600 of 1,000") for note in repeat.notes)


def test_a_step_that_kept_the_schedule_is_not_the_drivers():
    seconds = WINDOW.end - WINDOW.start
    facts = open_facts(scheduled=int(1000 * seconds), sent=int(1000 * seconds))
    repeat = judge(facts, Policy(max_error_rate=1.0))
    assert repeat.achieved_rps == pytest.approx(1000)
    assert repeat.bound != "driver"
    assert not any(note.startswith("driver-limited") for note in repeat.notes)
