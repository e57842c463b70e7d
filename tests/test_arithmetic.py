"""Every step a number passes through, on constructed data whose expected value is worked out
by hand in the comments: the window cut, warm-up exclusion, the HDR merge, percentiles,
driver and server busy, the cost per request, the count check and the fine histogram."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram

from asgi_bench.collectors.store import bucket, bucket_range
from asgi_bench.loadtests import HIGHEST_US, LOWEST_US
from asgi_bench.run.samplers import Sample, Sampler
from asgi_bench.run.state import ServerState, quantile
from asgi_bench.verdict.client import Window, client_stats
from asgi_bench.verdict.judge import Facts, Policy, judge
from tests.fakes import job


def hdr(*values_us: int) -> str:
    hist = HdrHistogram(LOWEST_US, HIGHEST_US, 3)
    for value in values_us:
        hist.record_value(value)
    encoded: bytes = hist.encode()
    return encoded.decode("ascii")


def process(role: str, ok: str, cpu: list[float], **extra: object) -> dict[str, object]:
    return {
        "id": role,
        "role": role,
        "host": "h",
        "pid": 1,
        "cpu_edges": cpu,
        "counted_total": 0,
        "counted_window": 0,
        "ok": ok,
        "entries": {},
        "series": {},
        "series_failed": {},
        "errors": {},
        "window_errors": {},
        **extra,
    }


# A window of three seconds, [1000, 1003). Two workers and a master that sends nothing.
RECORD = {
    "window": [1000.0, 1003.0],
    "test_start": 998.5,
    "test_stop": 1003.0,
    "missing_workers": [],
    "processes": [
        process("master", hdr(), [0.0, 3.0]),  # busy 100%, but it sends no load
        process(
            "worker",
            hdr(500, 500, 500, 1500),  # in the window: 4 successes
            [10.0, 12.4],  # 2.4 CPU seconds in 3 s: busy 0.8
            counted_total=60,
            counted_window=5,
            completed_window=5,
            errors={"non_2xx": 2},
            window_errors={"non_2xx": 1},  # one failure in the window, one in the warm-up
        ),
        process(
            "worker",
            hdr(1000, 1000, 1000, 1000),
            [5.0, 5.6],  # busy 0.2
            counted_total=40,
            counted_window=4,
            completed_window=4,
        ),
    ],
}
# Locust's own per-second counters: 50 in the warm-up (second 999), 9 in the window
# (seconds 1000-1002), 7 after it.
LOCUST = [
    {
        "method": "GET",
        "name": "/",
        "num_requests": 100,
        "num_reqs_per_sec": {"999": 50, "1000": 3, "1001": 4, "1002": 2, "1003": 7},
    },
    {"method": "TTFB", "name": "/", "num_requests": 100, "num_reqs_per_sec": {"1000": 100}},
]


def test_the_window_cut_excludes_the_warm_up_and_the_tail():
    stats = client_stats(RECORD, LOCUST)
    assert stats.window == Window(1000.0, 1003.0) and stats.window.seconds == 3.0
    # 8 successes in the window; the failure in the window is beside them, not among them.
    assert stats.requests == 8 and stats.failures["non_2xx"] == 1 and stats.errors == 1
    assert stats.rps == pytest.approx(8 / 3)
    # Locust: seconds 1000, 1001, 1002 -> 3 + 4 + 2 = 9 (auxiliary TTFB events not counted).
    assert stats.locust_window == 9 and stats.locust_total == 100
    assert stats.counted_window == 9 and stats.counted_total == 100
    assert stats.failures_total["non_2xx"] == 2


def test_throughput_is_what_was_answered_inside_the_window():
    # An open-model server that falls behind: the window [1000, 1003) held 9 arrivals, all
    # answered in the end (so 9 timed successes), but only 3 + 0 of those answers came back
    # before 1003. Throughput: 3 / 3 s = 1 req/s, not the 9 / 3 = 3 arrivals per second.
    record: dict[str, Any] = copy.deepcopy(RECORD)
    master, slow, stalled = record["processes"]
    master["answered_window"] = 0
    slow.update(answered_window=3, ok=hdr(*[900_000] * 5))
    stalled["answered_window"] = 0
    stats = client_stats(record, LOCUST)
    assert stats.requests == 9 and stats.rps == pytest.approx(1.0)
    # Without the count (a record from before it, or a native tool) requests stand for it.
    assert client_stats(RECORD, LOCUST).rps == pytest.approx(8 / 3)


def test_histograms_merge_over_processes_before_percentiles():
    stats = client_stats(RECORD, LOCUST)
    # Merged and sorted: 500 500 500 1000 1000 1000 1000 1500 (us). HDR takes the value at
    # rank round(q x n): p50 -> round(4.0) = 4th = 1000 us; p90 -> round(7.2) = 7th =
    # 1000 us; p99 -> round(7.92) = 8th = 1500 us; max 1500 us.
    assert stats.latency_ms["p50_ms"] == 1.0
    assert stats.latency_ms["p90_ms"] == 1.0
    assert stats.latency_ms["p99_ms"] == 1.5
    assert stats.latency_ms["max_ms"] == 1.5


def test_driver_busy_is_the_busiest_process_that_sends_load():
    stats = client_stats(RECORD, LOCUST)
    # Workers: 2.4 / 3 = 0.8 and 0.6 / 3 = 0.2; the master (1.0) sends no load.
    assert stats.driver_busy == pytest.approx(0.8)


class Samples(Sampler):
    def __init__(self, *samples: tuple[float, float]) -> None:
        super().__init__()
        self.samples = [Sample(t, cpu, 100 * 2**20, 1) for t, cpu in samples]


# The constructed window has 1 failure in 9 requests: let it pass the error-share rule so the
# rules under test decide.
LENIENT = Policy(concurrency=4, max_error_rate=0.5, server_capacity=1)


def facts_for(**edges: ServerState | None) -> Facts:
    facts = Facts(job(users=4))
    facts.client = client_stats(RECORD, LOCUST)
    facts.baseline = ServerState(0.0, requests=10)
    facts.final = ServerState(0.0, requests=110)
    facts.edges = (
        edges.get("first", ServerState(1000.0, span=0.05, requests=20, ok_requests=20)),
        edges.get("last", ServerState(1003.0, span=0.05, requests=29, ok_requests=28)),
    )
    return facts


def test_cost_divides_window_cpu_by_what_the_server_itself_served():
    facts = facts_for()
    # CPU samples at 999 s (1.0 s) and 1003.5 s (1.9 s), interpolated at the edges:
    # 1000 -> 1.0 + 0.9 * 1/4.5 = 1.2; 1003 -> 1.0 + 0.9 * 4/4.5 = 1.8; 0.6 s in the window.
    facts.server_sampler = Samples((999.0, 1.0), (1003.5, 1.9))
    repeat = judge(facts, LENIENT)
    # The server completed 28 - 20 = 8 successful requests in the window: 0.6 s / 8.
    assert repeat.server_ok_window == 8
    assert repeat.cpu_us_per_request == pytest.approx(0.6e6 / 8)
    # Busy: 0.6 s of 3 s on one usable CPU.
    assert repeat.server_busy == pytest.approx(0.2)
    assert repeat.peak_rss_mib is None  # no sample inside [1000, 1003]


def test_no_cpu_figure_without_samples_on_both_sides_of_the_window():
    facts = facts_for()
    facts.server_sampler = Samples((1000.5, 1.0), (1003.5, 1.9))  # starts inside the window
    repeat = judge(facts, LENIENT)
    assert repeat.cpu_us_per_request is None and repeat.server_busy is None
    assert any("server CPU not measured" in note for note in repeat.notes)


def test_the_count_check_has_teeth():
    # Whole run: the server counted 110 - 10 = 100 = the driver's 100. Window: the server
    # counted 29 - 20 = 9, the driver 9.
    repeat = judge(facts_for(), LENIENT)
    assert repeat.count_check == "ok", repeat.count_detail
    assert (repeat.server_requests_total, repeat.server_requests_window) == (100, 9)
    # One request the driver saw and the server did not, with no exception to explain it.
    facts = facts_for()
    facts.final = ServerState(0.0, requests=109)
    repeat = judge(facts, LENIENT)
    assert repeat.count_check == "mismatch" and repeat.status == "failed"
    assert "the server counted 99, the driver 100 (exceptions 0, unanswered at the stop 0)" in (
        repeat.reason
    )


def test_requests_killed_at_the_stop_may_have_reached_the_server():
    # Two users killed at the stop timeout while waiting for their answers (unfinished): the
    # app took both in, so the server counts 102 to the driver's 100, and no more.
    facts = facts_for()
    facts.client = client_stats(with_unfinished(2), LOCUST)
    facts.final = ServerState(0.0, requests=112)
    assert judge(facts, LENIENT).count_check == "ok"
    facts.final = ServerState(0.0, requests=113)  # 103: one more than the stop explains
    repeat = judge(facts, LENIENT)
    assert repeat.count_check == "mismatch"
    assert "the server counted 103, the driver 100 (exceptions 0, unanswered at the stop 2)" in (
        repeat.reason
    )


def with_unfinished(count: int) -> dict[str, object]:
    record = copy.deepcopy(RECORD)
    record["processes"][2]["unfinished"] = count  # type: ignore[index]
    return record


def test_the_window_count_tolerance_is_in_flight_plus_the_reads_own_time():
    # Tolerance: 4 users in flight + 1 failure (an exception may not reach the app, and a
    # non-2xx does) ... here exceptions are 0, so 4 + ceil(3 req/s x (0.05 + 0.05) s) = 5.
    within = facts_for(last=ServerState(1003.0, span=0.05, requests=34, ok_requests=33))
    assert judge(within, LENIENT).count_check == "ok"  # |14 - 9| = 5 <= 5
    beyond = facts_for(last=ServerState(1003.0, span=0.05, requests=35, ok_requests=34))
    repeat = judge(beyond, LENIENT)  # |15 - 9| = 6 > 5
    assert repeat.count_check == "mismatch"
    assert "in the window the server counted 15, the driver 9 (tolerance 5)" in repeat.reason


def test_an_edge_read_off_the_windows_edge_widens_the_tolerance_by_its_offset():
    # The last read lands 1 s after the window's end [1000, 1003): the server's window is
    # 1 s longer. 4 users + ceil(3 req/s x (0.05 + 0.05 + 1.0) s) = 4 + ceil(3.3) = 8.
    late = facts_for(last=ServerState(1004.0, span=0.05, requests=37, ok_requests=36))
    assert judge(late, LENIENT).count_check == "ok"  # |17 - 9| = 8 <= 8
    beyond = facts_for(last=ServerState(1004.0, span=0.05, requests=38, ok_requests=37))
    repeat = judge(beyond, LENIENT)  # |18 - 9| = 9 > 8
    assert "in the window the server counted 18, the driver 9 (tolerance 8)" in repeat.reason


def test_a_count_check_that_could_not_be_made_says_why():
    facts = facts_for()
    facts.baseline = facts.final = None  # a server whose counters never answered
    repeat = judge(facts, LENIENT)
    assert repeat.count_check == "not made" and repeat.status == "ok"
    assert "count check not made: the server's counters could not be read" in repeat.notes


def test_counters_that_answered_before_the_load_and_not_after_fail_the_row():
    facts = facts_for()
    facts.final = None
    facts.read_failures = ["TimeoutError: timed out"]
    repeat = judge(facts, LENIENT)
    assert repeat.status == "failed" and repeat.count_check == "not made"
    assert repeat.reason == (
        "the server stopped answering its counters after the load (TimeoutError: timed out)"
    )
    assert judge(facts_for(), Policy(metrics=False)).count_check == "not made"


def test_the_fine_histogram_holds_every_value_within_1_6_percent():
    for ns in (1, 127, 128, 1_000, 25_000, 20_000_000, 59_000_000_000):
        low, high = bucket_range(bucket(ns))
        assert low <= ns < high
        assert (high - low) / max(low, 1) <= 1 / 64 or ns < 128


def test_server_percentiles_from_fine_histogram_deltas():
    twenty, twenty_five = bucket(20_000_000), bucket(25_000_000)
    start = {twenty: 5}
    end = {twenty: 95, twenty_five: 10}
    # Between the two states: 90 at 20 ms, 10 at 25 ms. p50 and p90 lie in the 20 ms
    # bucket [19.922944, 20.185088) ms: its middle, 20.054016 ms, within 0.3% of 20 ms.
    assert quantile(0.5, start, end) == pytest.approx(0.020054016)
    assert quantile(0.9, start, end) == pytest.approx(0.020054016)
    # p99 lies in the 25 ms bucket [24.903680, 25.165824) ms: 25.034752 ms.
    assert quantile(0.99, start, end) == pytest.approx(0.025034752)
    assert quantile(0.5, end, end) is None  # nothing in between


def test_interference_is_the_pinned_cpus_time_spent_elsewhere():
    from asgi_bench.verdict.interference import CpuTimes, interference

    # In a 2 s window on 2 pinned CPUs (4 CPU seconds): process 7 used 0.5 s, process 9
    # 0.1 s, process 11 ended (not counted), and the hypervisor stole 0.2 s of CPU 1:
    # (0.5 + 0.1 + 0.2) / 4 = 20%.
    first = CpuTimes({7: 10.0, 9: 1.0, 11: 3.0}, {0: 5.0, 1: 7.0})
    last = CpuTimes({7: 10.5, 9: 1.1, 12: 0.3}, {0: 5.0, 1: 7.2})
    assert interference(first, last, [0, 1], seconds=2.0) == pytest.approx(0.2)
