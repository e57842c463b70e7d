"""``asgi-bench overhead``: what the Prometheus middleware costs, measured side by side.

1. In-process: microseconds per request of the hello app, bare and wrapped, driven by a
   synthetic ASGI loop (no server, no sockets), in single-process and multiprocess mode.
   Each mode runs in a fresh interpreter, since ``PROMETHEUS_MULTIPROC_DIR`` must be set
   before prometheus-client is imported. Each round alternates bare and wrapped in chunks.
2. Under real servers (uvicorn and granian): server CPU per request and p99 latency, bare
   and instrumented, at the same fixed offered rate (the open model), each round a fresh
   server in each mode, the order alternating. Whatever the harness reads from the server
   during a window is included: it reads only at the window's edges.

Every figure is a median over rounds, with the range printed beside it; the achieved rate
of both modes is checked against the offered one. The last line is for scripts::

    overhead: in-process +X.XX us/request; uvicorn CPU/request x.xx of bare, p99 x.xx of
    bare; granian CPU/request x.xx of bare, p99 x.xx of bare
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from asgi_bench.config import RunConfig
from asgi_bench.errors import BenchError
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.repeat import Repeat
from asgi_bench.run.plan import Job
from asgi_bench.run.resources import LocalResources
from asgi_bench.run.runner import run_job
from asgi_bench.system.watchdog import scratch_dir
from asgi_bench.verdict.interference import INTERFERENCE_AT

ROUNDS = 9
CHUNKS = 10  # bare/wrapped alternations per in-process round
RETRIES = 2  # a round the machine disturbed (interference, a late driver) is run again


def _loop_us(app: Any, requests: int) -> float:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
    message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return message

    async def send(_: dict[str, Any]) -> None:
        return None

    async def loop() -> float:
        started = time.perf_counter()
        for _ in range(requests):
            await app(scope, receive, send)
        return (time.perf_counter() - started) / requests * 1e6

    return asyncio.run(loop())


def _child(requests: int) -> None:
    """Runs in a fresh interpreter; prints the added µs of every round as JSON."""
    from prometheus_client import CollectorRegistry

    from asgi_bench.apps import hello
    from asgi_bench.collectors.middleware import PrometheusMiddleware

    wrapped = PrometheusMiddleware(
        hello.app,
        server="bench",
        app_name="hello",
        routes=hello.ROUTES,
        registry=CollectorRegistry(),
    )
    chunk = max(1, requests // CHUNKS)
    _loop_us(wrapped, chunk)  # warm up: series created, caches filled
    added = []
    for _ in range(ROUNDS):
        # Bare and wrapped alternate in small chunks within a round, so a neighbour's burst
        # on a shared machine lands on both sides instead of on one round's difference.
        bare = wrapped_us = 0.0
        for _ in range(CHUNKS):
            bare += _loop_us(hello.app, chunk)
            wrapped_us += _loop_us(wrapped, chunk)
        added.append((wrapped_us - bare) / CHUNKS)
    print(json.dumps(added))


def inprocess(requests: int, multiprocess: bool) -> list[float]:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with scratch_dir("asgi-bench-mp-") as scratch:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = scratch
        out = subprocess.run(
            [sys.executable, "-m", "asgi_bench.commands.overhead", str(requests)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    added: list[float] = json.loads(out.stdout)
    return added


def under_server(
    server: str, rate: float, seconds: float, rounds: int, out: Path, console: Console
) -> dict[str, list[float]]:
    """Per round: instrumented / bare, for CPU per request and p99. A round the machine kept
    disturbing is left out and said so; the figures come from the rounds kept."""
    ratios: dict[str, list[float]] = {"cpu": [], "p99": []}
    skipped = 0
    for round_ in range(rounds):
        # Alternate which mode goes first, so a drift in the machine favours neither.
        modes = ("bare", "instrumented") if round_ % 2 == 0 else ("instrumented", "bare")
        seen: dict[str, Repeat] = {}
        for mode in modes:
            config = RunConfig(
                servers=(server,),
                apps=("hello",),
                rates=f"{rate:g}",
                duration=seconds,
                warmup=1.0,
                metrics=mode == "instrumented",
                out=out,
            )
            settings = config.load()
            step = settings.steps["hello"][0]
            for attempt in range(1 + RETRIES):
                job = Job(settings.specs[0], settings.workloads[0], step, attempt + 1, 0)
                layout = RunLayout(out / server / mode / f"round{round_ + 1}")
                repeat = run_job(settings, job, layout, LocalResources(settings, None))
                why = _disturbed(repeat, rate)
                if not why:
                    break
                console.print(f"  {server} {mode}: {why}; running the round again")
            else:
                console.print(f"  {server} round {round_ + 1}: left out, {mode} stayed disturbed")
                break
            seen[mode] = repeat
        if len(seen) < len(modes):
            skipped += 1
            continue
        bare, inst = seen["bare"], seen["instrumented"]
        ratios["cpu"].append((inst.cpu_us_per_request or 0) / (bare.cpu_us_per_request or 1))
        ratios["p99"].append((inst.p99_ms or 0) / (bare.p99_ms or 1))
        console.print(
            f"  {server} round {round_ + 1}: CPU/request bare {bare.cpu_us_per_request:.1f} "
            f"instrumented {inst.cpu_us_per_request:.1f} µs ({ratios['cpu'][-1]:.3f}x), p99 "
            f"bare {bare.p99_ms:.3f} instrumented {inst.p99_ms:.3f} ms "
            f"({ratios['p99'][-1]:.3f}x)"
        )
        time.sleep(1.0)
    if not ratios["cpu"]:
        raise BenchError(f"overhead: every round under {server} stayed disturbed")
    if skipped:
        console.print(f"  {skipped} of {rounds} rounds left out: the machine disturbed them")
    return ratios


def _disturbed(repeat: Repeat, rate: float) -> str:
    """Why a round does not measure the server at the offered rate, or ``""``."""
    if repeat.status != "ok" or repeat.cpu_us_per_request is None or repeat.p99_ms is None:
        return f"failed: {repeat.reason or 'no figures'}"
    if repeat.bound == "driver":  # the one rule: asgi_bench.verdict.limits.driver_limit
        return f"driver-limited at {repeat.achieved_rps or 0:.0f} of {rate:g} req/s"
    if (repeat.interference or 0.0) > INTERFERENCE_AT:
        return f"{repeat.interference:.0%} of the pinned CPUs went elsewhere"
    return ""


def _spread(values: list[float], fmt: str) -> str:
    low, mid, high = (fmt.format(v) for v in (min(values), statistics.median(values), max(values)))
    return f"{mid} (range {low} to {high})"


def run_overhead(args: argparse.Namespace, console: Console) -> str:
    console.print(
        f"[bold]In-process[/], hello app, {args.requests:,} calls per mode and round, "
        f"{ROUNDS} rounds of {CHUNKS} alternating chunks (µs added per request):"
    )
    single = inprocess(args.requests, multiprocess=False)
    multi = inprocess(args.requests, multiprocess=True)
    console.print(f"  single-process +{_spread(single, '{:.2f}')} µs")
    console.print(f"  multiprocess   +{_spread(multi, '{:.2f}')} µs")
    by_server: dict[str, dict[str, list[float]]] = {}
    with scratch_dir("asgi-bench-overhead-") as scratch:
        for server in args.servers.split(","):
            console.print(
                f"[bold]Under {server}[/], {args.rate:g} req/s offered (open model), "
                f"{args.seconds:g} s windows, {args.rounds} alternating rounds:"
            )
            ratios = by_server[server] = under_server(
                server, args.rate, args.seconds, args.rounds, Path(scratch), console
            )
            console.print(
                f"  CPU/request {_spread(ratios['cpu'], '{:.3f}')} of bare; "
                f"p99 {_spread(ratios['p99'], '{:.3f}')} of bare"
            )
    line = summary_line(single, by_server)
    print(line)  # plain, unwrapped: read by scripts
    return line


def summary_line(single: list[float], by_server: dict[str, dict[str, list[float]]]) -> str:
    """The last line, for scripts: medians over the rounds.

    >>> summary_line([2.0, 1.9, 2.2], {"uvicorn": {"cpu": [1.0, 1.2, 1.1], "p99": [0.9, 1.3, 1.0]}})
    'overhead: in-process +2.00 us/request; uvicorn CPU/request 1.10 of bare, p99 1.00 of bare'
    """
    parts = [f"in-process +{statistics.median(single):.2f} us/request"]
    for server, ratios in by_server.items():
        parts.append(
            f"{server} CPU/request {statistics.median(ratios['cpu']):.2f} of bare, "
            f"p99 {statistics.median(ratios['p99']):.2f} of bare"
        )
    return "overhead: " + "; ".join(parts)


if __name__ == "__main__":
    _child(int(sys.argv[1]))
