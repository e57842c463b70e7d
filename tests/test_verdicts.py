"""Verdicts on constructed data: a window the server fell silent in, and a failed row that
keeps its failure counts."""

from __future__ import annotations

from asgi_bench.results.repeat import Repeat
from asgi_bench.results.rows import aggregate
from asgi_bench.verdict.client import Window
from asgi_bench.verdict.judge import Facts, Policy, judge
from tests.fakes import client, job


def silent_facts(answered: list[int], max_ms: float = 0.64) -> Facts:
    """A closed-loop window of len(answered) whole seconds from t=1000, with these answers
    per second; every success took at most ``max_ms``."""
    stats = client(requests=sum(answered))
    stats.window = Window(1000.0, 1000.0 + len(answered))
    stats.series = [
        {"t": float(i), "second": 1000.0 + i, "ok": n, "failed": 0, "p50_ms": 0.3, "p99_ms": 0.6}
        for i, n in enumerate(answered)
        if n  # a second with no answer has no entry at all, as the recorder writes it
    ]
    stats.latency_ms = {**stats.latency_ms, "max_ms": max_ms}
    facts = Facts(job())
    facts.client = stats
    return facts


def test_a_server_that_stops_answering_mid_window_fails_the_row():
    # 1,722 answers in the first second, then none for 3: the 4 requests in flight then
    # never finished, and the slowest success took 0.64 ms, so nothing explains the silence.
    repeat = judge(silent_facts([1722, 0, 0, 0]), Policy(max_error_rate=1.0))
    assert repeat.silent_s == 3.0
    assert repeat.status == "failed"
    assert repeat.reason.startswith("the server answered nothing for 3 s of the 4 s window")
    # The closed loop's per-second throughput counts the silent seconds as 0: unsteady.
    assert repeat.unsteady


def test_a_silence_its_slowest_requests_waited_through_is_noted_not_failed():
    # The server paused 1 s and then answered: its stalled requests took 1.2 s, and say so.
    repeat = judge(silent_facts([900, 0, 900, 900], max_ms=1200.0), Policy(max_error_rate=1.0))
    assert repeat.silent_s == 1.0 and repeat.status == "ok"
    assert "the server answered nothing for 1 s of the window" in repeat.notes


def test_a_slow_window_is_not_silent_by_chance():
    # 5 answers a second on average: a second without one can be chance, not a stopped server.
    assert judge(silent_facts([10, 0, 5, 5]), Policy()).silent_s is None
    assert judge(silent_facts([40, 40, 40, 40]), Policy()).silent_s is None


def test_a_failed_row_keeps_its_failure_counts_in_their_fields():
    # Two repeats: one failed with 30 non-2xx among 270 successes, one ok with 2 of 298.
    failed = Repeat("uvicorn", "hello", "closed-4u", 1, status="failed", reason="10.0% failed")
    failed.requests, failed.non_2xx, failed.errors = 270, 30, 30
    ok = Repeat("uvicorn", "hello", "closed-4u", 2, status="ok")
    ok.requests, ok.non_2xx, ok.errors = 298, 2, 2
    (row,) = aggregate([failed, ok])
    assert row.status == "failed"
    assert row.counts["non_2xx"] == 32 and row.counts["errors"] == 32
    assert row.counts["requests"] == 568
    assert row.samples_per_window == 298  # the figures come from the ok repeat only
    (alone,) = aggregate([failed])
    assert alone.counts["non_2xx"] == 30 and alone.to_dict()["non_2xx"] == 30
