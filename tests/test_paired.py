"""--paired: each repeat bare and instrumented, headline figures from the bare twins."""

from __future__ import annotations

import pytest

from asgi_bench.config import RunConfig
from asgi_bench.errors import UsageError
from asgi_bench.results.repeat import Repeat
from asgi_bench.results.rows import INSTRUMENT, aggregate
from asgi_bench.run.plan import plan
from tests.e2e import only_run, rows, short_run


def test_a_paired_plan_measures_each_step_twice_in_turn():
    s = RunConfig(servers=("uvicorn", "granian"), apps=("hello",), paired=True).load()
    jobs = plan(s.specs, s.workloads, s.steps, 2, seed=3, paired=True)
    units = 2 * len(s.steps["hello"])
    assert len(jobs) == 2 * 2 * units
    for first, second in zip(jobs[::2], jobs[1::2], strict=True):
        assert first.key.removesuffix("-bare") == second.key.removesuffix("-bare")
        # round 1 bare first, round 2 instrumented first
        assert (first.bare, second.bare) == ((True, False) if first.repeat == 1 else (False, True))
    assert len({job.key for job in jobs}) == len(jobs)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ({"metrics": False}, "--no-metrics"),
        ({"targets": ("uvicorn=http://127.0.0.1:8001",)}, "--targets"),
        ({"profile": "driver"}, "--profile"),
        ({"rates": "auto"}, "--rates auto"),
    ],
)
def test_paired_is_refused_where_there_is_no_pair(flags, named):
    with pytest.raises(UsageError) as caught:
        RunConfig(servers=("uvicorn",), apps=("hello",), paired=True, **flags).load()
    assert str(caught.value) == f"--paired runs each repeat bare and instrumented; not {named}"


def _twin(k: int, bare: bool, cpu: float, p50: float, **more: object) -> Repeat:
    fields: dict[str, object] = {
        "status": "ok",
        "load": "open",
        "requests": 1000,
        "cpu_us_per_request": cpu,
        "p50_ms": p50,
        "count_check": "not made" if bare else "ok",
        "app_p50_ms": None if bare else 0.010,
        **more,
    }
    return Repeat("uvicorn", "hello", "open-1000rps", k, bare=bare, **fields)  # type: ignore[arg-type]


def test_a_paired_row_takes_each_figure_from_the_twin_that_gives_it_honestly():
    # Worked by hand: bare CPU 50, 60, 40 -> median 50; instrumented 55, 63, 46 -> the
    # rounds' ratios 1.10, 1.05, 1.15 -> median 1.10. p50 from the bare twins: 1.0, 1.2,
    # 0.8 -> 1.0 (the instrumented 2.0s are not it). In-app p50 only the others have.
    twins = [
        _twin(1, True, 50.0, 1.0, notes=["count check not made: served without metrics"]),
        _twin(1, False, 55.0, 2.0),
        _twin(2, False, 63.0, 2.0),
        _twin(2, True, 60.0, 1.2),
        _twin(3, True, 40.0, 0.8),
        _twin(3, False, 46.0, 2.0, app_p50_ms=0.012),
    ]
    [row] = aggregate(twins, paired=True)
    assert row.paired and row.repeats == 3 and row.planned == 3
    assert row.get("cpu_us_per_request") == 50.0
    assert row.get("p50_ms") == 1.0
    assert row.get("app_p50_ms") == 0.010  # median of 0.010, 0.010, 0.012
    assert row.get(INSTRUMENT) == pytest.approx(1.10)
    assert row.count_check == "ok"  # the bare twins make none; the others' is the row's
    assert row.notes == []  # nor is a bare twin's "count check not made" the row's
    assert row.counts["requests"] == 3000  # the headline's windows, not both modes'
    assert row.to_dict()["instrument_cpu_ratio"] == pytest.approx(1.10)


def test_a_paired_rows_notes_and_failures_are_its_own():
    twins = [
        _twin(1, True, 50.0, 1.0, notes=["unsteady window: drift"]),
        _twin(1, False, 55.0, 2.0, notes=["driver 95% busy", "count check within 2"]),
        _twin(2, True, 60.0, 1.2),
        _twin(2, False, 63.0, 2.0, status="failed", reason="1200 errors", errors=1200),
    ]
    [row] = aggregate(twins, paired=True)
    assert row.status == "failed" and row.reason == "repeat 2: 1200 errors"
    assert row.counts["errors"] == 1200  # a failed twin's failures stay in the row
    assert row.counts["requests"] == 2000 + 1000  # the bare twins' and the failed one's
    # the instrumented twin says only what it alone can (its counters), not its driver's
    assert row.notes == ["unsteady window: drift", "count check within 2"]
    twins[0].status, twins[0].reason = "failed", "timeout"
    [row] = aggregate(twins, paired=True)
    assert row.reason == "repeat 1 (bare): timeout; repeat 2: 1200 errors"


def test_compare_reads_a_paired_rows_figures_from_the_twins_that_give_them():
    from asgi_bench.verdict.comparison import _values

    twins = [_twin(1, True, 50.0, 1.0), _twin(1, False, 55.0, 2.0, app_p50_ms=0.02)]
    assert _values(twins, "p50_ms", True) == [1.0]
    assert _values(twins, "app_p50_ms", True) == [0.02]
    alone = [_twin(1, False, 55.0, 2.0), _twin(2, False, 57.0, 3.0)]
    assert _values(alone, "p50_ms", False) == [2.0, 3.0]


def test_a_paired_row_whose_bare_twins_all_failed_has_no_headline_figure(tmp_path):
    # Only the instrumented twins are left ok: their p50 and CPU are not the row's (they
    # carry the middleware), neither in the row nor in compare, which once took the run
    # for unpaired on seeing no bare twin.
    from asgi_bench.results.layout import RunLayout
    from asgi_bench.results.read import LoadedRun
    from asgi_bench.verdict.comparison import compare

    twins = [
        _twin(1, True, 50.0, 1.0, status="failed", reason="timeout"),
        _twin(1, False, 55.0, 2.0),
        _twin(2, False, 63.0, 3.0),
        _twin(2, True, 60.0, 1.2, status="failed", reason="timeout"),
    ]
    [row] = aggregate(twins, paired=True)
    assert row.status == "failed" and row.repeats == 0
    assert row.get("p50_ms") is None and row.get("cpu_us_per_request") is None
    assert row.get("app_p50_ms") == 0.010  # what only the middleware gives is still read
    run = LoadedRun(RunLayout(tmp_path), {"config": {"paired": True}}, twins)
    lines = compare(run, run, 0.05)
    assert [line.figure for line in lines] == ["app_p50_ms"]


def test_an_unpaired_row_is_as_before():
    [row] = aggregate([_twin(1, False, 55.0, 2.0), _twin(2, False, 65.0, 3.0)])
    assert not row.paired and row.repeats == 2
    assert row.get("cpu_us_per_request") == 60.0 and row.get(INSTRUMENT) is None


@pytest.mark.integration
def test_a_paired_run_reports_the_instruments_cost_beside_bare_figures(out):
    proc = short_run(out, "--servers", "uvicorn", "--apps", "hello", "--rates", "300", "--paired")
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(out)
    [row] = rows(run_dir)
    assert row["status"] == "ok" and row["paired"], row
    assert row["instrument_cpu_ratio"] > 0.5, row  # measured, not made up: both twins ran
    assert row["app_p50_ms"] > 0 and row["count_check"] == "ok", row
    step = run_dir / "cells" / "uvicorn__hello" / row["step"]
    assert sorted(p.name for p in step.iterdir()) == ["r1", "r1-bare"]
    assert not (step / "r1-bare" / "server-state.jsonl").exists()  # no middleware to read
    html = (run_dir / "report.html").read_text()
    assert "instrument CPU × bare" in html and "<b>paired</b>" in html
