"""``asgi-bench profile SERVER APP --rate R``: where one server's CPU goes at one offered
rate, and what the profiler itself costs it.

Rounds alternate an unprofiled and a profiled repeat of the same open-model step (which goes
first alternates too, so a drift of the machine favours neither), each on a fresh server.
The profiled repeats give the breakdown by component (merged over the rounds), the top
functions and a flame graph each; the pairs give py-spy's cost as profiled over unprofiled
CPU per request, and p99. The cost is kept in the user's cache: a ``run --profile`` row of
this server is ranked beside unprofiled ones only when it is within 3%. Everything lands in
``OUT/<run-id>/profiled`` and ``.../unprofiled``, each a run folder with its own report.
The last line is for scripts::

    profile: uvicorn hello at 1000 req/s: CPU/request profiled 1.05 of unprofiled, p99 3.10
    of unprofiled; kernel 57.0 us, protocol 14.0 us, loop 10.0 us, ...
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from rich.console import Console

from asgi_bench.config import RunConfig, Settings
from asgi_bench.errors import BenchError
from asgi_bench.load import Step
from asgi_bench.report.page import render_report
from asgi_bench.results.layout import RunLayout, write_json
from asgi_bench.results.manifest import build_manifest
from asgi_bench.results.repeat import Repeat
from asgi_bench.run import build
from asgi_bench.run.plan import Job
from asgi_bench.run.profile_cost import save_profile_cost
from asgi_bench.run.profiler import RATE_HZ, describe, version
from asgi_bench.run.resources import LocalResources
from asgi_bench.run.runner import prepare_run_dir, run_job
from asgi_bench.verdict.profile import Profile, merge


def run_profile(args: argparse.Namespace, console: Console) -> int:
    base = dict(
        servers=(args.server,),
        apps=(args.app,),
        rates=f"{args.rate:g}",
        duration=args.seconds,
        warmup=args.warmup,
        out=args.out,
    )
    modes = {
        "unprofiled": RunConfig(**base).load(),  # type: ignore[arg-type]
        "profiled": RunConfig(**base, profile="server").load(),  # type: ignore[arg-type]
    }
    root = prepare_run_dir(args.out).root
    layouts = {mode: RunLayout(root / mode) for mode in modes}
    middleware = build.prepare(modes["profiled"].config)  # built before the first server
    console.print(
        f"profile: {args.server} {args.app} at {args.rate:g} req/s, {args.rounds} alternating "
        f"rounds of {args.seconds:g} s windows, {version() or 'py-spy'} at {RATE_HZ} Hz"
    )
    seen: dict[str, list[Repeat]] = {mode: [] for mode in modes}
    for k in range(1, args.rounds + 1):
        order = ("unprofiled", "profiled") if k % 2 else ("profiled", "unprofiled")
        for mode in order:
            settings = modes[mode]
            job = Job(settings.specs[0], settings.workloads[0], _step(settings), k, k)
            repeat = run_job(settings, job, layouts[mode], LocalResources(settings, None))
            if repeat.status != "ok" or not repeat.cpu_us_per_request or not repeat.p99_ms:
                raise BenchError(f"profile: {mode} round {k} failed: {repeat.reason}")
            seen[mode].append(repeat)
        bare, spied = seen["unprofiled"][-1], seen["profiled"][-1]
        console.print(
            f"  round {k}: CPU/request unprofiled {bare.cpu_us_per_request:.1f}, profiled "
            f"{spied.cpu_us_per_request:.1f} µs ({_ratio(spied, bare, 'cpu_us_per_request'):.3f}x)"
            f"; p99 {bare.p99_ms or 0:.2f} / {spied.p99_ms or 0:.2f} ms"
        )
    for mode, settings in modes.items():
        _write_run(layouts[mode], settings, seen[mode], middleware)
    pairs = list(zip(seen["profiled"], seen["unprofiled"], strict=True))
    cpu = statistics.median(_ratio(s, b, "cpu_us_per_request") for s, b in pairs)
    p99 = statistics.median(_ratio(s, b, "p99_ms") for s, b in pairs)
    save_profile_cost(args.server, cpu, {"p99_ratio": p99, "rate": args.rate, "app": args.app})
    profiles = [Profile.from_dict(r.profile) for r in seen["profiled"] if r.profile]
    if not profiles:
        raise BenchError("profile: py-spy wrote no profile (see py-spy.log in the run folder)")
    merged = merge(profiles)
    for top in merged.top[:5]:
        console.print(f"  {top.share:6.1%}  {top.function}  ({top.component})")
    console.print(f"  reports: {layouts['profiled'].report_html}")
    print(summary_line(args.server, args.app, args.rate, cpu, p99, merged))
    return 0


def summary_line(server: str, app: str, rate: float, cpu: float, p99: float, p: Profile) -> str:
    """The last line: the profiler's cost, then µs per request by component, largest first.

    >>> from asgi_bench.verdict.profile import COMMON_RULES, breakdown
    >>> stacks = {("write (libc.so.6)",): 30, ("app (apps/hello.py:1)",): 10}
    >>> p = breakdown(stacks, COMMON_RULES, rate_hz=100, seconds=2, requests=1000)
    >>> summary_line("uvicorn", "hello", 1000, 1.049, 2.5, p)[-53:]
    'p99 2.50 of unprofiled; kernel 300.0 us, app 100.0 us'
    """
    parts = sorted(
        ((name, part.us_per_request or 0.0) for name, part in p.components.items()),
        key=lambda item: -item[1],
    )
    said = ", ".join(f"{name} {us:.1f} us" for name, us in parts if us > 0)
    return (
        f"profile: {server} {app} at {rate:g} req/s: CPU/request profiled {cpu:.2f} of "
        f"unprofiled, p99 {p99:.2f} of unprofiled; {said}"
    )


def _step(settings: Settings) -> Step:
    return settings.steps[settings.workloads[0].name][0]


def _ratio(a: Repeat, b: Repeat, name: str) -> float:
    return float(getattr(a, name) or 0.0) / float(getattr(b, name) or 1.0)


def _write_run(
    layout: RunLayout, settings: Settings, repeats: list[Repeat], middleware: build.MiddlewareBuild
) -> Path:
    """Each mode's folder as a run of its own: run.json, then the summary and report."""
    manifest = build_manifest(settings, layout.run_id, [])
    manifest["middleware"] = middleware
    if settings.config.profile:
        manifest["profile"] = describe(settings.config.profile, settings.warmup)
    manifest["completed"] = True
    write_json(layout.run_json, manifest, schema=True)
    return render_report(layout.root)
