"""``asgi-bench driver-check``: the highest rate one driver process offers open-loop here.

A trivial, fast server (granian serving hello, on the server's CPUs) is offered rising rates
by one Locust process (on the driver's CPUs) until the driver stops keeping its schedule:
more than 1% of arrivals dispatched more than 1 ms late, or less than 99% of the rate sent.
The highest rate it kept, and the dispatch lag p99 there, are printed, saved in the user's
cache and used by ``run`` to warn when a ladder asks the driver for more than it can offer.
If the server saturates first, the check says so: its figure is then a lower bound.

These machines are shared: a pause of a few tens of milliseconds makes more than 1% of a
window's arrivals late although the driver had time to spare. A step missed while the
driver was under 85% busy is therefore run again, up to twice, before it counts: the check
is after the driver's sustained capacity, not after the machine's worst moment.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from asgi_bench.config import RunConfig
from asgi_bench.errors import BenchError
from asgi_bench.load.open import Open
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.repeat import Repeat
from asgi_bench.run.driver_figure import save_driver_figure
from asgi_bench.run.plan import Job
from asgi_bench.run.resources import LocalResources
from asgi_bench.run.runner import run_job
from asgi_bench.run.search import Trial, search
from asgi_bench.system.watchdog import scratch_dir
from asgi_bench.verdict.limits import BOUND_AT, LATE_AT

GOAL_RPS = 5000  # what one driver process should offer on one core of a small machine
HEADROOM = 0.85  # a miss below this driver busy share is suspected noise: try again
RETRIES = 2


def driver_check(args: argparse.Namespace, console: Console) -> int:
    config = RunConfig(
        servers=(args.server,),
        apps=("hello",),
        rates=str(args.start),
        duration=args.duration,
        warmup=1.0,
        metrics=False,  # the server's own cost is not what is measured
        driver_processes=1,  # what one process offers, whatever the machine's size
    )
    settings = config.load()
    seen: dict[float, Repeat] = {}
    with scratch_dir("asgi-bench-driver-check-") as scratch:
        layout = RunLayout(Path(scratch))
        resources = LocalResources(settings, None)

        def trial(rate: float) -> Trial:
            for attempt in range(RETRIES + 1):
                found = step(rate, attempt)
                busy = seen[rate].driver_busy
                if found.ok or found.driver_limited or busy is None or busy >= HEADROOM:
                    return found
            return found

        def step(rate: float, attempt: int) -> Trial:
            job = Job(settings.specs[0], settings.workloads[0], Open(rate), attempt + 1, len(seen))
            started = time.monotonic()
            repeat = seen[rate] = run_job(settings, job, layout, resources)
            if repeat.status != "ok":
                raise BenchError(
                    f"driver-check: the step at {rate:g} req/s failed: {repeat.reason}"
                )
            scheduled = max(1, repeat.scheduled or 0)  # the arrivals its schedule held
            kept = repeat.bound != "driver" and (repeat.late or 0) / scheduled < LATE_AT
            console.print(
                f"  {rate:>8,.0f} req/s offered: sent {repeat.achieved_rps or 0:,.0f}/s, "
                f"late {repeat.late or 0:,} of {repeat.scheduled or 0:,}, lag p99 "
                f"{repeat.lag_p99_ms or 0:.2f} ms, driver {repeat.driver_busy or 0:.0%} busy, "
                f"server {repeat.server_busy or 0:.0%} busy  "
                f"{'kept' if kept else 'missed'}{' (again)' if attempt else ''} "
                f"({time.monotonic() - started:.0f}s)"
            )
            # A saturated server makes the driver look late: stop there, as a lower bound.
            server_bound = (repeat.server_busy or 0) >= BOUND_AT
            return Trial(ok=kept, driver_limited=server_bound)

        console.print(
            f"driver-check: one Locust process on CPUs {list(settings.driver_cpus)} against "
            f"{args.server} (hello) on CPUs {list(settings.server_cpus)}"
        )
        found = search(trial, args.start, args.limit, precision=0.05)
    if found.capacity is None:
        raise BenchError("driver-check: the driver kept no schedule, not even the first rate")
    best = seen[found.capacity]
    lag = best.lag_p99_ms
    note = " (the server saturated first: a lower bound)" if found.stopped_by == "driver" else ""
    path = save_driver_figure(found.capacity, lag, {"server": args.server, "goal": GOAL_RPS})
    verdict = "meets" if found.capacity >= GOAL_RPS and (lag or 0) < 1.0 else "misses"
    console.print(
        f"driver-check: one driver process offers {found.capacity:,.0f} req/s open-loop with "
        f"late arrivals under 1%, lag p99 {lag or 0:.2f} ms{note}; {verdict} the goal of "
        f"{GOAL_RPS:,} req/s with lag p99 under 1 ms. Saved in {path}"
    )
    return 0
