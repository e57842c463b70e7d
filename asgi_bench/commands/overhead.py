"""``asgi-bench overhead``: what the Prometheus middleware costs, measured side by side.

1. In-process: microseconds per request of the hello app, bare and wrapped, driven by a
   synthetic ASGI loop (no server, no sockets), in single-process and multiprocess mode.
   Each mode runs in a fresh interpreter, since ``PROMETHEUS_MULTIPROC_DIR`` must be set
   before prometheus-client is imported. Each round alternates bare and wrapped in chunks.
   Where the mypyc-compiled middleware is built, its Python source runs in the same chunks.
2. Under every installed server config (or ``--servers``): server CPU per request and p99
   latency, bare and instrumented, at the same fixed offered rate (the open model), and
   the throughput of ``--users`` connections at saturation (wrk where it is installed, else
   Locust's closed loop; counted only where the server was the limit both ways), each round
   a fresh server in each mode, the order alternating. Whatever the harness reads from the
   server during a window is included: it reads only at the window's edges.

Every figure is a median over rounds, with the range printed beside it; the achieved rate
of both modes is checked against the offered one. The last line is for scripts::

    overhead: in-process +X.XX us/request; uvicorn CPU/request x.xx of bare, p99 x.xx of
    bare, saturation x.xx of bare; granian CPU/request x.xx of bare, ...
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from asgi_bench.collectors import compiled
from asgi_bench.collectors.compiled import COMPILED, PYTHON
from asgi_bench.config import RunConfig, Settings
from asgi_bench.errors import BenchError
from asgi_bench.load import Step
from asgi_bench.load.closed import Closed
from asgi_bench.load.native import Native, find_tool
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.repeat import Repeat
from asgi_bench.run import build
from asgi_bench.run.plan import Job
from asgi_bench.run.resources import LocalResources
from asgi_bench.run.runner import run_job
from asgi_bench.servers import SERVERS, get_server
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
    """Runs in a fresh interpreter; prints, as JSON, the µs each build of the middleware
    adds per request in every round: the build the package imports first, and beside a
    compiled one the Python source, loaded as a module of its own."""
    from prometheus_client import CollectorRegistry

    from asgi_bench.apps import hello
    from asgi_bench.collectors.middleware import PrometheusMiddleware

    builds = {str(compiled.which()): PrometheusMiddleware}
    if compiled.which() == COMPILED:
        builds[PYTHON] = _python_source()
    wrapped = {
        build: kind(
            hello.app,
            server="bench",
            app_name="hello",
            routes=hello.ROUTES,
            registry=CollectorRegistry(),
        )
        for build, kind in builds.items()
    }
    chunk = max(1, requests // CHUNKS)
    for app in wrapped.values():
        _loop_us(app, chunk)  # warm up: series created, caches filled
    added: dict[str, list[float]] = {name: [] for name in wrapped}
    for _ in range(ROUNDS):
        # Bare and each build alternate in small chunks within a round, so a neighbour's
        # burst on a shared machine lands on every side instead of on one round's difference.
        bare, took = 0.0, dict.fromkeys(wrapped, 0.0)
        for _ in range(CHUNKS):
            bare += _loop_us(hello.app, chunk)
            for name, app in wrapped.items():
                took[name] += _loop_us(app, chunk)
        for name in wrapped:
            added[name].append((took[name] - bare) / CHUNKS)
    print(json.dumps(added))


def _python_source() -> Any:
    """The middleware's class from its Python source, beside the compiled module."""
    spec = importlib.util.spec_from_file_location(
        "asgi_bench.collectors._middleware_source", compiled.HERE / "middleware.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PrometheusMiddleware


def inprocess(requests: int, multiprocess: bool) -> dict[str, list[float]]:
    """Per build of the middleware (the one imported first, then Python beside a compiled
    one), the µs it added per request in each round."""
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
    found: dict[str, list[float]] = json.loads(out.stdout)
    return found


def under_server(
    server: str,
    rate: float,
    seconds: float,
    rounds: int,
    out: Path,
    console: Console,
    users: int = 0,
) -> dict[str, list[float]]:
    """Per round: instrumented / bare, for CPU per request and p99 at ``rate``, and, with
    ``users``, for the throughput of that many connections at saturation (wrk's where it is
    installed, else Locust's closed loop). A round the machine kept disturbing is left out
    and said so; a saturation figure counts only where the server was the limit both ways."""
    ratios: dict[str, list[float]] = {"cpu": [], "p99": [], "saturation": []}
    tool = find_tool("1.1")
    peak: Step | None = None
    if users:
        peak = Native(users, tool.name) if tool else Closed(users, 1000.0)
    skipped = 0
    for round_ in range(rounds):
        # Alternate which mode goes first, so a drift in the machine favours neither.
        modes = ("bare", "instrumented") if round_ % 2 == 0 else ("instrumented", "bare")
        seen: dict[str, Repeat] = {}
        peaks: dict[str, Repeat] = {}
        for mode in modes:
            settings = RunConfig(
                servers=(server,),
                apps=("hello",),
                rates=f"{rate:g}",
                duration=seconds,
                warmup=1.0,
                metrics=mode == "instrumented",
                out=out,
            ).load()
            layout = RunLayout(out / server / mode / f"round{round_ + 1}")
            fixed = _measured(settings, settings.steps["hello"][0], layout, rate, console)
            if fixed is None:
                console.print(f"  {server} round {round_ + 1}: left out, {mode} stayed disturbed")
                break
            seen[mode] = fixed
            if peak is not None:
                peaks[mode] = run_job(
                    settings, _job(settings, peak, 1), layout, LocalResources(settings, None)
                )
        if len(seen) < len(modes):
            skipped += 1
            continue
        bare, inst = seen["bare"], seen["instrumented"]
        ratios["cpu"].append((inst.cpu_us_per_request or 0) / (bare.cpu_us_per_request or 1))
        ratios["p99"].append((inst.p99_ms or 0) / (bare.p99_ms or 1))
        said = (
            f"  {server} round {round_ + 1}: CPU/request bare {bare.cpu_us_per_request:.1f} "
            f"instrumented {inst.cpu_us_per_request:.1f} µs ({ratios['cpu'][-1]:.3f}x), p99 "
            f"bare {bare.p99_ms:.3f} instrumented {inst.p99_ms:.3f} ms "
            f"({ratios['p99'][-1]:.3f}x)"
        )
        if peak is not None:
            said += "; " + _saturation(peaks, ratios["saturation"], peak)
        console.print(said)
        time.sleep(1.0)
    if not ratios["cpu"]:
        raise BenchError(f"overhead: every round under {server} stayed disturbed")
    if skipped:
        console.print(f"  {skipped} of {rounds} rounds left out: the machine disturbed them")
    return ratios


def _job(settings: Settings, step: Step, attempt: int) -> Job:
    return Job(settings.specs[0], settings.workloads[0], step, attempt, 0)


def _measured(
    settings: Settings, step: Step, layout: RunLayout, rate: float, console: Console
) -> Repeat | None:
    """The fixed-rate repeat, run again (up to RETRIES times) while the machine disturbed
    it; None when it stayed disturbed."""
    for attempt in range(1 + RETRIES):
        repeat = run_job(
            settings, _job(settings, step, attempt + 1), layout, LocalResources(settings, None)
        )
        why = _disturbed(repeat, rate)
        if not why:
            return repeat
        mode = "instrumented" if settings.config.metrics else "bare"
        console.print(f"  {settings.specs[0].name} {mode}: {why}; running the round again")
    return None


def _saturation(peaks: dict[str, Repeat], kept: list[float], step: Step) -> str:
    """The round's saturation figures, said; their ratio goes into ``kept`` only when the
    server was the limit in both modes (else the figures are the driver's)."""
    bare, inst = peaks["bare"], peaks["instrumented"]
    said = f"{step.describe()}: bare {bare.rps or 0:,.0f} instrumented {inst.rps or 0:,.0f} req/s"
    if not all(p.status == "ok" and p.bound == "server" and p.rps for p in (bare, inst)):
        bounds = ", ".join(f"{mode} {p.bound or p.status}" for mode, p in peaks.items())
        return f"{said} (not counted: the server was not the limit: {bounds})"
    kept.append((inst.rps or 0) / (bare.rps or 1))
    return f"{said} ({kept[-1]:.3f}x)"


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
    # Built before anything is measured; the servers below import the same build.
    middleware = build.prepare(RunConfig())
    reason = f" ({middleware['reason']})" if middleware["reason"] else ""
    console.print(f"[bold]Middleware[/]: {middleware['build']}{reason}")
    console.print(
        f"[bold]In-process[/], hello app, {args.requests:,} calls per mode and round, "
        f"{ROUNDS} rounds of {CHUNKS} alternating chunks (µs added per request):"
    )
    singles = inprocess(args.requests, multiprocess=False)
    for mode, added in (
        ("single-process", singles),
        ("multiprocess", inprocess(args.requests, True)),
    ):
        for name, rounds in added.items():
            console.print(f"  {mode} ({name}) +{_spread(rounds, '{:.2f}')} µs")
    single = next(iter(singles.values()))  # the build the servers import
    by_server: dict[str, dict[str, list[float]]] = {}
    servers = args.servers.split(",") if args.servers else installed()
    with scratch_dir("asgi-bench-overhead-") as scratch:
        for server in servers:
            console.print(
                f"[bold]Under {server}[/], {args.rate:g} req/s offered (open model), "
                f"{args.seconds:g} s windows, {args.rounds} alternating rounds"
                + (f", then {args.users} connections at saturation:" if args.users else ":")
            )
            ratios = by_server[server] = under_server(
                server, args.rate, args.seconds, args.rounds, Path(scratch), console, args.users
            )
            line = (
                f"  CPU/request {_spread(ratios['cpu'], '{:.3f}')} of bare; "
                f"p99 {_spread(ratios['p99'], '{:.3f}')} of bare"
            )
            if ratios["saturation"]:
                line += f"; saturation {_spread(ratios['saturation'], '{:.3f}')} of bare"
            console.print(line)
    line = summary_line(single, by_server)
    print(line)  # plain, unwrapped: read by scripts
    return line


def summary_line(single: list[float], by_server: dict[str, dict[str, list[float]]]) -> str:
    """The last line, for scripts: medians over the rounds; a saturation with no round in
    which the server was the limit both ways reads ``–``.

    >>> summary_line([2.0, 1.9, 2.2], {"uvicorn": {"cpu": [1.0, 1.2, 1.1], "p99": [0.9, 1.3, 1.0]}})
    'overhead: in-process +2.00 us/request; uvicorn CPU/request 1.10 of bare, p99 1.00 of bare'
    """
    parts = [f"in-process +{statistics.median(single):.2f} us/request"]
    for server, ratios in by_server.items():
        said = (
            f"{server} CPU/request {statistics.median(ratios['cpu']):.2f} of bare, "
            f"p99 {statistics.median(ratios['p99']):.2f} of bare"
        )
        if "saturation" in ratios:
            found = ratios["saturation"]
            said += (
                f", saturation {statistics.median(found):.2f} of bare"
                if found
                else (", saturation – of bare")
            )
        parts.append(said)
    return "overhead: " + "; ".join(parts)


def installed() -> list[str]:
    """Every server config whose server is installed here."""
    return [name for name in SERVERS if get_server(name).available]


if __name__ == "__main__":
    _child(int(sys.argv[1]))
