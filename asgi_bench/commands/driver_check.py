"""``asgi-bench driver-check``: the highest rate one driver process offers open-loop here.

A trivial, fast server (granian serving hello, on the server's CPUs) is offered rising rates
by one Locust process (on the driver's CPUs) until the driver stops keeping its schedule:
more than 1% of arrivals dispatched more than 1 ms late, or less than 99% of the rate sent.
The highest rate it kept, and the dispatch lag p99 there, are printed, saved in the user's
cache and used by ``run`` to warn when a ladder asks the driver for more than it can offer.
If the server saturates first, the check says so: its figure is then a lower bound.

Beside it, in the same run and against the same server from the same CPU, the check drives
a closed loop of ``--users`` connections with Locust and, where it is installed, with wrk:
rounds of the two alternate before and after the search (figures on a shared machine move
by tens of percent from one minute to the next), and it prints the medians and both ratios
to wrk's, the open model's kept rate and the closed loop's throughput. Goals: 0.6x and 0.5x.
With ``--http 2`` each round also drives the closed loop over h2c, and the last line adds
the driver's CPU per request over both versions.

These machines are shared: a pause of a few tens of milliseconds makes more than 1% of a
window's arrivals late although the driver had time to spare. A step missed while the
driver was under 85% busy is therefore run again, up to twice, before it counts: the check
is after the driver's sustained capacity, not after the machine's worst moment. Where the
step above the figure missed on every try all the same, with the driver under 60% busy and
the server not saturated, the machine held it up: the figure says so, is judged against no
goal and is not saved (run the check again).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

from rich.console import Console

from asgi_bench.config import RunConfig
from asgi_bench.errors import BenchError
from asgi_bench.load import Step
from asgi_bench.load.closed import Closed
from asgi_bench.load.http import Http
from asgi_bench.load.native import Native, find_tool
from asgi_bench.load.open import Open
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.repeat import Repeat
from asgi_bench.run.driver_figure import save_driver_figure
from asgi_bench.run.plan import Job
from asgi_bench.run.resources import LocalResources
from asgi_bench.run.runner import run_job
from asgi_bench.run.search import SearchResult, Trial, search
from asgi_bench.system.watchdog import scratch_dir
from asgi_bench.verdict.limits import ACHIEVED_AT, BOUND_AT, LATE_AT

GOAL_RPS = 5000  # what one driver process should offer on one core of a small machine
OPEN_GOAL, CLOSED_GOAL = 0.6, 0.5  # of wrk's rate from the same core, against the same server
HEADROOM = 0.85  # a miss below this driver busy share is suspected noise: try again
RETRIES = 2
# A driver this idle that missed on every try was held up by the machine: it kept higher
# rates busier (at 80-85% a miss may be its own queueing, and counts as its limit).
NOISE_BELOW = 0.6
# What the figure's line adds, by what stopped the search above it (set_by).
NOTES = {
    "server": " (the server saturated first: a lower bound)",
    "noise": f" (a step above it missed {RETRIES + 1} times with the driver under "
    f"{NOISE_BELOW:.0%} busy and the server not saturated: the machine held it up)",
}


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
    peaks: dict[str, list[float]] = {"closed": [], "native": [], "h2": []}
    costs: dict[str, list[float]] = {"closed": [], "h2": []}  # driver CPU µs per request
    tool = find_tool("1.1")
    with scratch_dir("asgi-bench-driver-check-") as scratch:
        layout = RunLayout(Path(scratch))
        resources = LocalResources(settings, None)
        order = itertools.count()

        def measure(step: Step, attempt: int = 0) -> Repeat:
            job = Job(settings.specs[0], settings.workloads[0], step, attempt + 1, next(order))
            repeat = run_job(settings, job, layout, resources)
            if repeat.status != "ok":
                raise BenchError(f"driver-check: {job.key} failed: {repeat.reason}")
            return repeat

        def peak_round() -> None:
            steps: list[Step] = [Closed(args.users, 1000.0)]
            if tool is not None:
                steps.append(Native(args.users, tool.name))
            if args.http == "2":
                steps.append(Closed(args.users, 1000.0, Http("2", args.streams)))
            for step in steps:
                kind = "h2" if step.http.h2 else step.kind
                repeat = measure(step, len(peaks[kind]))
                peaks[kind].append(repeat.rps or 0.0)
                cost = driver_us_per_request(repeat)
                if cost is not None and step.kind == "closed":
                    costs[kind].append(cost)
                console.print(
                    f"  {step.describe()}: {repeat.rps or 0:,.0f} req/s, driver "
                    f"{repeat.driver_busy or 0:.0%} busy"
                    + (f" ({cost:.1f} µs a request)" if cost is not None else "")
                    + f", server {repeat.server_busy or 0:.0%} busy"
                )

        def trial(rate: float) -> Trial:
            for attempt in range(RETRIES + 1):
                found = step(rate, attempt)
                busy = seen[rate].driver_busy
                if found.ok or found.capped or busy is None or busy >= HEADROOM:
                    return found
            return found

        def step(rate: float, attempt: int) -> Trial:
            started = time.monotonic()
            repeat = seen[rate] = measure(Open(rate), attempt)
            kept = schedule_kept(repeat, rate)
            console.print(
                f"  {rate:>8,.0f} req/s offered: sent {repeat.achieved_rps or 0:,.0f}/s, "
                f"late {repeat.late or 0:,} of {repeat.scheduled or 0:,}, lag p99 "
                f"{repeat.lag_p99_ms or 0:.2f} ms, driver {repeat.driver_busy or 0:.0%} busy, "
                f"server {repeat.server_busy or 0:.0%} busy  "
                f"{'kept' if kept else 'missed'}{' (again)' if attempt else ''} "
                f"({time.monotonic() - started:.0f}s)"
            )
            # A saturated server makes the driver look late: a miss there is the server's
            # (unless the driver was at its own limit too), the search stays below it and
            # the figure is a lower bound. A schedule kept all the same is the driver's.
            server_bound = (repeat.server_busy or 0) >= BOUND_AT
            server_limited = server_bound and not kept and repeat.bound != "driver"
            return Trial(ok=kept, capped=server_limited)

        console.print(
            f"driver-check: one Locust process on CPUs {list(settings.driver_cpus)} against "
            f"{args.server} (hello) on CPUs {list(settings.server_cpus)}"
            + ("" if tool else "; wrk is not installed: no native figure to compare with")
        )
        peak_round()
        found = search(trial, args.start, args.limit, precision=0.05)
        peak_round()
    if found.capacity is None:
        raise BenchError("driver-check: the driver kept no schedule, not even the first rate")
    best = seen[found.capacity]
    lag = best.lag_p99_ms
    stopped = set_by(found, seen)
    cost = driver_us_per_request(best)
    if stopped == "noise":
        # Not what the driver offers: judged against no goal, and not saved for run's
        # warnings to read.
        ending = "not judged and not saved: run the check again"
    else:
        met = found.capacity >= GOAL_RPS and (lag or 0) < 1.0
        path = save_driver_figure(found.capacity, lag, {"server": args.server, "goal": GOAL_RPS})
        ending = (
            f"{'meets' if met else 'misses'} the goal of {GOAL_RPS:,} req/s with lag p99 "
            f"under 1 ms. Saved in {path}"
        )
    console.print(
        f"driver-check: one driver process offers {found.capacity:,.0f} req/s open-loop with "
        f"late arrivals under 1%, lag p99 {lag or 0:.2f} ms"
        + (f", {cost:.1f} µs of driver CPU a request" if cost is not None else "")
        + f"{NOTES.get(stopped or '', '')}; {ending}"
    )
    version = tool.version() if tool else None
    line = _ratios(found.capacity, peaks, args.users, version, judged=stopped != "noise")
    if peaks["h2"]:
        line += _http2(peaks, costs, args.streams)
    lower_bound = "; open is a lower bound: the server saturated first"
    console.print(line + (lower_bound if stopped == "server" else ""))
    return 0


def schedule_kept(repeat: Repeat, rate: float) -> bool:
    """Whether one driver process kept an open step's schedule: not driver-limited, under
    1% of its arrivals late, and at least 99% of the rate *sent*, not only dispatched (a
    saturated server holds the connections, and an arrival dispatched on time into a full
    backlog was never offered).

    >>> def step(**seen): return Repeat("granian", "hello", "open-1000rps", **seen)
    >>> schedule_kept(step(scheduled=3000, late=29, achieved_rps=990.0), 1000)
    True
    >>> schedule_kept(step(scheduled=3000, late=30, achieved_rps=1000.0), 1000)  # 1% late
    False
    >>> schedule_kept(step(scheduled=3000, late=0, achieved_rps=989.0), 1000)  # not sent
    False
    >>> schedule_kept(step(scheduled=3000, late=0, achieved_rps=1000.0, bound="driver"), 1000)
    False
    """
    late = (repeat.late or 0) / max(1, repeat.scheduled or 0)
    sent = (repeat.achieved_rps or 0) >= ACHIEVED_AT * rate
    return repeat.bound != "driver" and late < LATE_AT and sent


def set_by(found: SearchResult, seen: dict[float, Repeat]) -> str | None:
    """What the lowest rate missed above the figure says of it, however the search ended (out
    of trials, too): ``"server"`` (saturated: the figure is a lower bound), ``"noise"``
    (missed on every try with the driver under NOISE_BELOW busy and the server not
    saturated: the machine held it up, the figure is not the driver's limit), ``"driver"``,
    or None where nothing above it was missed. ``seen``: each rate's last try.

    >>> def step(driver, server):
    ...     return Repeat("granian", "hello", "open", driver_busy=driver, server_busy=server)
    >>> seen = {4000.0: step(0.5, 0.5), 8000.0: step(0.55, 0.6), 8500.0: step(0.55, 0.95),
    ...     16000.0: step(0.8, 0.9), 17000.0: step(0.84, 0.93), 32000.0: step(0.99, 0.97)}
    >>> server = Trial(ok=False, capped=True)  # the search's flag: stop climbing
    >>> set_by(SearchResult(16000.0, "trials", [(16000.0, Trial(ok=True)),
    ...     (32000.0, Trial(ok=False)), (17000.0, server)]), seen)
    'server'
    >>> set_by(SearchResult(4000.0, "bisection", [(4000.0, Trial(ok=True)),
    ...     (8000.0, Trial(ok=False))]), seen)
    'noise'
    >>> set_by(SearchResult(4000.0, "bisection", [(4000.0, Trial(ok=True)),
    ...     (8500.0, Trial(ok=False))]), seen)  # the server was saturated: not noise
    'driver'
    >>> set_by(SearchResult(16000.0, "bisection", [(16000.0, Trial(ok=True)),
    ...     (32000.0, Trial(ok=False)), (17000.0, Trial(ok=False))]), seen)
    'driver'
    """
    capacity = found.capacity
    if capacity is None:
        return None
    missed = [(rate, trial) for rate, trial in found.trials if rate > capacity]
    if not missed:
        return None
    rate, trial = min(missed, key=lambda seen: seen[0])
    if trial.capped:
        return "server"
    last = seen.get(rate)
    driver = last.driver_busy if last is not None else None
    server = (last.server_busy or 0) if last is not None else 0
    return (
        "noise" if driver is not None and driver < NOISE_BELOW and server < BOUND_AT else "driver"
    )


def driver_us_per_request(repeat: Repeat) -> float | None:
    """The driver's CPU per request it completed, in µs: its busy share of a core over the
    window, divided by the requests per second (one driver process).

    >>> driver_us_per_request(Repeat("granian", "hello", "closed-32u", rps=20_000, driver_busy=0.9))
    45.0
    """
    if repeat.driver_busy is None or not repeat.rps:
        return None
    return repeat.driver_busy * 1e6 / repeat.rps


def _http2(peaks: dict[str, list[float]], costs: dict[str, list[float]], streams: int) -> str:
    """What the last line adds with ``--http 2``: the h2c closed loop's throughput and the
    driver's CPU per request over both versions, medians of the rounds."""
    said = f"; h2c closed {statistics.median(peaks['h2']):,.0f} req/s ({streams} streams)"
    if costs["h2"] and costs["closed"]:
        h2, h1 = statistics.median(costs["h2"]), statistics.median(costs["closed"])
        said += f", driver {h2:.1f} µs a request over HTTP/2, {h1:.1f} over HTTP/1.1"
    return said


def _ratios(
    open_rps: float, peaks: dict[str, list[float]], users: int, tool: str | None, *, judged: bool
) -> str:
    """The last line, one a script can read: the figures and their ratios to wrk's, e.g.
    ``driver-check: open 24,000 req/s, closed 21,000 req/s (32 users), wrk 4.1 39,000 req/s;
    open 0.62x of wrk (goal 0.6x: meets), closed 0.54x (goal 0.5x: meets)``. An open figure
    the machine cut short is not ``judged``: its ratio says so instead of a verdict."""
    closed = statistics.median(peaks["closed"])
    head = f"driver-check: open {open_rps:,.0f} req/s, closed {closed:,.0f} req/s ({users} users)"
    if not peaks["native"] or tool is None:
        return head + "; no native figure (install wrk for the ratios)"
    native = statistics.median(peaks["native"])
    if not native:
        return head + f"; {tool} served nothing: no ratios"
    parts = []
    for name, figure, goal in (("open", open_rps, OPEN_GOAL), ("closed", closed, CLOSED_GOAL)):
        ratio = figure / native
        verdict = "meets" if ratio >= goal else "misses"
        if name == "open" and not judged:
            verdict = "not judged, the machine cut it short"
        parts.append(
            f"{name} {ratio:.2f}x"
            + (" of wrk" if name == "open" else "")
            + f" (goal {goal}x: {verdict})"
        )
    return f"{head}, {tool} {native:,.0f} req/s; " + ", ".join(parts)
