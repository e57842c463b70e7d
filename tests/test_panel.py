"""The web UI tab's arithmetic, on constructed readings worked out by hand.

Below 128 µs a bucket holds one value: bucket ``v`` is ``[v, v + 1)``, its middle ``v + 0.5``.
"""

from __future__ import annotations

import json

import pytest

from asgi_bench.loadtests.panel_figures import (
    History,
    Panel,
    Reading,
    client_figures,
    rows,
    server_figures,
)
from asgi_bench.run.state import ServerState

# 20,000 ns falls into bucket 590, [19,968, 20,224) ns: its middle is 20.096 µs. 1 ms
# into bucket 954, [999,424, 1,007,616) ns: its middle is 1,003.52 µs.
NS_20US, NS_1MS = 590, 954


def test_client_figures_add_up_every_process_between_its_two_readings():
    a = (
        Reading(t=100.0, cpu_s=1.0, counted=10, failed=1, ok={50: 9}),
        Reading(t=110.0, cpu_s=4.0, counted=30, failed=1, late=2, ok={50: 19, 90: 10}),
    )
    b = (
        Reading(t=101.0, cpu_s=0.0, counted=5, dropped=1, ok={70: 5}),
        Reading(t=111.0, cpu_s=5.0, counted=25, dropped=3, ok={70: 25}),
    )
    figures = client_figures([a, b])
    assert figures is not None
    # Counted: (30 - 10) + (25 - 5) = 40; late 2; dropped 3 - 1 = 2; no new failure.
    assert (figures.counted, figures.failed, figures.late, figures.dropped) == (40, 0, 2, 2)
    # Between the readings: 50 us x 10, 90 us x 10 (a) and 70 us x 20 (b), 40 in all.
    # p50 is the 20th: 10 at 50, then 30 by 70 -> 70.5; p90, the 36th, and the rest: 90.5.
    assert figures.latency_us == {
        "p50": 70.5,
        "p90": 90.5,
        "p99": 90.5,
        "p99.9": 90.5,
        "max": 90.5,
    }
    assert figures.uncorrected_us is None  # a closed loop
    # Busy: a 3 CPU s in 10 s, b 5 in 10: the busiest is b at 0.5.
    assert figures.driver_busy == pytest.approx(0.5)
    assert figures.seconds == 10.0


def test_the_open_model_gets_its_latency_from_the_send_beside_it():
    start = Reading(t=0.0, cpu_s=0.0)
    end = Reading(t=2.0, cpu_s=0.5, counted=4, ok={100: 2, 120: 2}, uncorrected={40: 4})
    figures = client_figures([(start, end)])
    assert figures is not None and figures.uncorrected_us is not None
    # From the intended send: 100, 100, 120, 120: p50 the 2nd, 100.5 (bucket 100 is
    # [100, 101) below 128); max 120.5. From the actual send: all 40 -> 40.5.
    assert (figures.latency_us["p50"], figures.latency_us["max"]) == (100.5, 120.5)
    assert figures.uncorrected_us["p99"] == 40.5
    names = [row["figure"] for row in rows((figures, None), (figures, None))]
    assert "uncorrected p50 (µs)" in names and "client p99.9 (µs)" in names


def test_server_figures_are_the_difference_of_two_states():
    start = ServerState(0.0, ok_requests=100, cpu_s=2.0, duration={NS_20US: 50})
    end = ServerState(10.0, ok_requests=1100, cpu_s=2.5, duration={NS_20US: 1035, NS_1MS: 15})
    figures = server_figures(start, end)
    # 1,000 served: 985 at 20 us, 15 at 1 ms. p50 (the 500th) 20.096 us; p99 (the 990th)
    # is past the 985 -> 1,003.52 us.
    assert figures.served == 1000
    assert figures.app_p50_us == pytest.approx(20.096)
    assert figures.app_p99_us == pytest.approx(1003.52)
    # 0.5 CPU s over 10 s: 0.05 cores; over 1,000 requests: 500 us each.
    assert figures.cores == pytest.approx(0.05)
    assert figures.cpu_us_per_request == pytest.approx(500.0)


def test_a_websocket_server_is_timed_by_its_echoes():
    start = ServerState(0.0, ok_requests=3, ws_messages_in=10, cpu_s=None)
    end = ServerState(1.0, ok_requests=3, ws_messages_in=60, ws_echo={NS_20US: 50}, cpu_s=None)
    figures = server_figures(start, end)
    assert figures.served == 50 and figures.app_p50_us == pytest.approx(20.096)
    assert figures.cores is None and figures.cpu_us_per_request is None  # no CPU account


def test_the_history_keeps_a_few_seconds_and_the_first_reading():
    history = History(keep_s=15.0)
    for t in range(15):
        history.add(Reading(t=float(t), cpu_s=0.0))
    pair = history.pair(10.0)
    assert pair is not None
    first, last = pair
    # The oldest reading at or after 14 - 10 - 0.5 = 3.5 s is the one at 4 s.
    assert (first.t, last.t) == (4.0, 14.0)
    history.add(Reading(t=20.0, cpu_s=0.0))  # drops those before 20 - 15 = 5 s
    assert history.recent[0].t == 5.0
    since = history.pair(None)
    assert since is not None and since[0].t == 0.0  # since the start: the first reading
    single = History()
    single.add(Reading(t=1.0, cpu_s=0.0))
    assert single.pair(10.0) is None  # one reading bounds no span


def test_rows_show_what_was_not_measured_as_a_dash():
    start, end = Reading(t=0.0, cpu_s=0.0), Reading(t=10.0, cpu_s=1.0, counted=40, ok={50: 40})
    figures = client_figures([(start, end)])
    table = {row["figure"]: row for row in rows((None, None), (figures, None))}
    assert table["requests"] == {"figure": "requests", "recent": "-", "total": "40"}
    assert table["requests/s"]["total"] == "4.00"  # 40 in 10 s
    assert table["driver busy, busiest process (%)"]["total"] == "10.00"  # 1 CPU s in 10 s
    assert "in-app p50 (µs)" not in table  # no server state: a bare server shows no row
    assert not any(name.startswith("uncorrected") for name in table)


def test_a_reading_survives_the_report_to_the_master():
    reading = Reading(t=5.0, cpu_s=1.5, since=1.0, counted=3, ok={7: 3}, uncorrected={2: 1})
    assert Reading.from_json(json.loads(json.dumps(reading.to_json()))) == reading


def test_the_panel_sums_its_sources_and_a_reset_restarts_since_start():
    panel = Panel()
    for t, counted in ((10.0, 100), (20.0, 300), (25.0, 400)):
        panel.add_client("w1", Reading(t=t, cpu_s=0.0, since=0.0, counted=counted))
        panel.add_client("w2", Reading(t=t, cpu_s=0.0, since=0.0, counted=counted // 2))
    table = {row["figure"]: row for row in panel.table()}
    # Last 10 s: w1 400 - 100 (from 15 s back, the 10 s reading is the oldest inside 14.5 s)
    # ... the oldest reading at or after 25 - 10.5 = 14.5 s is at 20 s: 100 + 50 = 150.
    assert table["requests"]["recent"] == "150"
    assert table["requests"]["total"] == "600"  # since the test's start: 400 + 200
    panel.reset()
    panel.add_client("w1", Reading(t=30.0, cpu_s=0.0, since=0.0, counted=450))
    table = {row["figure"]: row for row in panel.table()}
    assert table["requests"]["total"] == "50"  # w1 450 - 400, w2 200 - 200
    # A new test (another start time) forgets the reset and the old readings of that source.
    panel.add_client("w1", Reading(t=40.0, cpu_s=0.0, since=35.0, counted=30))
    table = {row["figure"]: row for row in panel.table()}
    assert table["requests"]["total"] == "30"  # w1 30 since 35 s; w2 0 since its reset
