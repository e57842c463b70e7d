"""``asgi-bench overhead``: what the Prometheus middleware costs, measured side by side.

1. In-process: microseconds per request of the hello app, bare and wrapped, driven by a
   synthetic ASGI loop (no server, no sockets), in single-process and multiprocess mode.
   Each mode runs in a fresh interpreter, since ``PROMETHEUS_MULTIPROC_DIR`` must be set
   before prometheus-client is imported. Rounds alternate bare and wrapped; medians.
2. Under a real server: server CPU microseconds per request, bare and instrumented, at the
   same fixed offered load, alternating runs; medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from asgi_bench.config import RunConfig
from asgi_bench.errors import BenchError
from asgi_bench.layout import RunLayout
from asgi_bench.plan import Job
from asgi_bench.resources import LocalResources
from asgi_bench.runner import run_job
from asgi_bench.workloads import LOADTESTS_DIR, get_workload

ROUNDS = 7
SERVER_PAIRS = 2
USERS = 10


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
    """Runs in a fresh interpreter; prints the medians as JSON."""
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
    _loop_us(wrapped, requests // 10)  # warm up: series created, caches filled
    bare, instrumented = [], []
    for _ in range(ROUNDS):
        bare.append(_loop_us(hello.app, requests))
        instrumented.append(_loop_us(wrapped, requests))
    print(
        json.dumps(
            {"bare": statistics.median(bare), "instrumented": statistics.median(instrumented)}
        )
    )


def inprocess(requests: int, multiprocess: bool) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory(prefix="asgi-bench-mp-") as scratch:
        if multiprocess:
            env["PROMETHEUS_MULTIPROC_DIR"] = scratch
        out = subprocess.run(
            [sys.executable, "-m", "asgi_bench.overhead", str(requests)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def under_server(server: str, rate: int, seconds: float, out: Path) -> dict[str, float]:
    hello = get_workload("hello")
    workload = replace(
        hello, name="hello-fixed", locustfile=LOADTESTS_DIR / "fixed_rate.py", user="FixedRateUser"
    )
    os.environ["ASGI_BENCH_RATE_PER_USER"] = str(rate / USERS)
    costs: dict[str, list[float]] = {"bare": [], "instrumented": []}
    rates: dict[str, list[float]] = {"bare": [], "instrumented": []}
    layout = RunLayout(out)
    for pair in range(SERVER_PAIRS):
        for mode in ("bare", "instrumented"):
            config = RunConfig(
                servers=(server,),
                apps=("hello",),
                users=USERS,
                spawn_rate=USERS,
                duration=seconds,
                warmup=2,
                out=out,
                metrics=mode == "instrumented",
            )
            settings = config.load()
            job = Job(settings.specs[0], workload, settings.steps["hello"][0], pair + 1, 0)
            repeat = run_job(
                settings, replace(job), _mode_layout(layout, mode), LocalResources(settings, None)
            )
            if repeat.status != "ok" or repeat.cpu_us_per_request is None or repeat.rps is None:
                raise BenchError(f"overhead: {server} {mode} run failed: {repeat.reason}")
            costs[mode].append(repeat.cpu_us_per_request)
            rates[mode].append(repeat.rps)
    return {f"{mode}_cpu_us": statistics.median(v) for mode, v in costs.items()} | {
        f"{mode}_rps": statistics.median(v) for mode, v in rates.items()
    }


def _mode_layout(layout: RunLayout, mode: str) -> RunLayout:
    return RunLayout(layout.root / mode)


def run_overhead(args: argparse.Namespace, console: Console) -> None:
    console.print(
        f"[bold]In-process[/], hello app, {args.requests:,} calls per round, "
        f"median of {ROUNDS} alternating rounds:"
    )
    for label, multiprocess in (("single-process", False), ("multiprocess", True)):
        r = inprocess(args.requests, multiprocess)
        console.print(
            f"  {label:<15} bare {r['bare']:5.2f} µs   instrumented "
            f"{r['instrumented']:5.2f} µs   added {r['instrumented'] - r['bare']:5.2f}"
            f" µs/request"
        )
    with tempfile.TemporaryDirectory(prefix="asgi-bench-overhead-") as scratch:
        console.print(
            f"[bold]Under uvicorn[/] (uvloop + httptools), {args.rate} req/s fixed, "
            f"{args.seconds:g} s, median of {SERVER_PAIRS} alternating pairs:"
        )
        r = under_server("uvicorn", args.rate, args.seconds, Path(scratch))
    added = r["instrumented_cpu_us"] - r["bare_cpu_us"]
    console.print(
        f"  bare {r['bare_cpu_us']:6.1f} CPU µs/request at {r['bare_rps']:.0f} req/s   "
        f"instrumented {r['instrumented_cpu_us']:6.1f} at {r['instrumented_rps']:.0f} "
        f"req/s   added {added:+.1f} µs ({added / r['bare_cpu_us']:+.0%})"
    )


if __name__ == "__main__":
    _child(int(sys.argv[1]))
