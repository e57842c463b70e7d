"""The open model against real servers: the corrections it exists for must show.

A stall app pauses 200 ms once a second: a fifth of all arrivals land in a stall and wait up
to 200 ms. Offered at a fixed rate, their corrected p99 must show it; a closed loop of the
same app must not (each user records one stalled request per second and then races ahead:
coordinated omission).
"""

from __future__ import annotations

import json
import textwrap

import pytest

from asgi_bench.run.search import CONFIRM
from tests.e2e import only_run, rows, short_run

pytestmark = pytest.mark.integration

STALL_APP = textwrap.dedent("""
    import asyncio
    import time

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        phase = time.monotonic() % 1.0
        if phase < 0.2:  # the first 200 ms of every second: everyone waits
            await asyncio.sleep(0.2 - phase)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
""")


@pytest.fixture
def stall_project(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "stall.py").write_text(STALL_APP)
    return project


def test_a_stall_shows_in_the_open_model_and_hides_in_a_closed_loop(out, tmp_path, stall_project):
    common = ["--servers", "uvicorn", "--app", "stall:app"]
    # 10 connection slots: a stall (100 arrivals) holds all of them, and the other 90 wait.
    opened = short_run(
        out / "open", *common, "--rates", "500", "--slots", "10", seconds=4, cwd=stall_project
    )
    assert opened.returncode == 0, opened.stderr[-2000:]
    # One user, so it sends hundreds of requests a second: at 32 users on a slow moment of
    # this machine each sent only ~60, and one stalled request in 60 is above the p99.
    closed = short_run(out / "closed", *common, seconds=4, users=1, cwd=stall_project)
    assert closed.returncode == 0, closed.stderr[-2000:]
    (open_row,) = rows(only_run(out / "open"))
    (closed_row,) = rows(only_run(out / "closed"))
    assert open_row["status"] == closed_row["status"] == "ok"
    # A fifth of the arrivals wait 0-200 ms: the corrected p99 is near 190 ms.
    assert open_row["p99_ms"] >= 100, open_row
    # The closed loop records one stalled request per user per second among hundreds: the
    # premise first (under 1 in 200 stalled), so a machine too slow for it says so.
    assert closed_row["rps"] > 200, closed_row
    assert closed_row["p99_ms"] < open_row["p99_ms"] / 2, closed_row
    # During a stall every connection slot is busy and arrivals queue for one: timed from
    # their actual send, they look faster than they were. Of the fifth of arrivals that wait
    # in a stall only the 2% that got a slot look slow uncorrected, so p90 shows it (the
    # slowest 1% held a slot all through a stall: there corrected = uncorrected).
    assert open_row["p90_uncorrected_ms"] < open_row["p90_ms"] / 2, open_row
    assert open_row["p90_ms"] >= 50, open_row


def test_below_capacity_the_driver_keeps_the_schedule(out):
    # The rate is sent in full and on time within what this VM allows. A mostly idle vCPU
    # here can wake ~1 ms late: at 300 req/s, 1.0-1.6% of arrivals left over 1 ms late on
    # 2026-11-25 (17 of 1500, 30 of 3000), so lateness is bounded at 5%, and a row over 1%
    # late must say so (its corrected tail holds that lag).
    proc = short_run(out, "--servers", "uvicorn", "--apps", "hello", "--rates", "300", seconds=10)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = rows(only_run(out))
    assert row["status"] == "ok", row["reason"]
    assert row["achieved_rps"] == pytest.approx(300, rel=0.01)
    assert row["late"] <= 0.05 * row["scheduled"], row  # else it would be driver-limited
    assert row["bound"] != "driver", row
    noted = any("dispatched over 1 ms late" in note for note in row["notes"])
    assert noted == (row["late"] > 0.01 * row["scheduled"]), row
    assert row["count_check"] == "ok", row["count_detail"]
    assert row["load"] == "open" and row["offered_rps"] == 300


def test_a_rate_beyond_the_driver_is_flagged_not_published(out):
    # Beyond the driver by construction, not by this machine's speed: a Python client spends
    # at least ~10 µs of CPU per request on any core we run on (25 µs on 2026-11-25's VM,
    # 12 µs on 2026-12-01's, which kept 21,000 req/s), so one process cannot offer 200,000
    # requests a second, 5 µs each, whatever the machine. 64 slots keep the sockets few.
    proc = short_run(
        out, "--servers", "granian", "--apps", "hello", "--rates", "200000", "--slots", "64"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_dir = only_run(out)
    (row,) = rows(run_dir)
    assert row["bound"] == "driver", row
    assert row["notes"][0].startswith("driver-limited"), row["notes"]
    # What went on the wire, not what the scheduler dispatched: far below the offered rate.
    assert row["achieved_rps"] < 0.5 * row["offered_rps"], row
    # Not presented as granian's figure where servers are compared at the same load.
    report = (run_dir / "report.html").read_text()
    same_load = report.split("At the same offered load</h2>", 1)[1].split("</table>", 1)[0]
    # One row: the server's name, then one cell saying why, where its figures would be.
    assert same_load.count("<td") == 2 and "driver-limited †" in same_load, same_load


def test_the_known_delay_at_a_fixed_rate(out):
    proc = short_run(out, "--servers", "uvicorn", "--apps", "sleep", "--rates", "200", seconds=3)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = rows(only_run(out))
    # The app's own sleep, never less; a loop on a shared core wakes late.
    assert 20.0 <= row["app_p50_ms"] < 22.0, row
    # From the intended send the loopback and the driver's lag add to it: 0.55 ms on a quiet
    # machine, 1.6 ms in one CI run on a busy one. A figure off by a unit falls far outside.
    assert 20.0 <= row["p50_ms"] < 25.0, row


def test_a_search_runs_its_planned_closed_step_then_probes_down_to_nothing(out):
    # The sleep app answers in 20 ms, so p50<15ms is never met. --load both plans the
    # closed-loop step first; then the search starts at the app's first rate, 100, and
    # halves while it fails: 100, 50, 25 fail; 12.5 would be under 100 / 2**2: it stops,
    # with no capacity, by bisection, after 3 steps (a late dispatch on a busy machine does
    # not make it the driver's: p50 misses from the send too). Four repeats, numbered 0 to 3;
    # a miss in a disturbed window is measured twice more (search.CONFIRM), numbered on.
    proc = short_run(
        out, "--servers", "uvicorn", "--apps", "sleep", "--rates", "auto", "--load", "both",
        "--slo", "p50<15ms", seconds=1,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = " ".join(proc.stdout.split())  # the console wraps long lines
    assert "1 repeats, then a capacity search per cell" in said, said
    said_capacity = said[said.find("capacity uvicorn") :][:120]
    assert said_capacity.startswith(
        "capacity uvicorn / sleep at p50<15ms: none (stopped by bisection, 3 steps)"
    ), said_capacity
    run_dir = only_run(out)
    found = {row["step"]: row for row in rows(run_dir)}
    assert set(found) == {"closed-4u", "open-100rps", "open-50rps", "open-25rps"}
    assert all(row["status"] == "ok" for row in found.values()), found
    assert [found[f"open-{r}rps"]["slo_pass"] for r in (100, 50, 25)] == [False] * 3
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["capacity"] == [
        {"server": "uvicorn", "app": "sleep", "slo": "p50<15ms", "capacity_rps": None,
         "lower_bound": False, "limited_by": "slo", "http": "1.1"}
    ]  # fmt: skip
    orders = sorted(
        json.loads(path.read_text())["order"] for path in run_dir.glob("cells/*/*/r*/repeat.json")
    )
    assert orders == list(range(len(orders))) and (len(orders) - 4) % CONFIRM == 0, orders
