"""Run the matrix: every server config x every workload, one cell at a time.

A failing cell is recorded with its reason and the run goes on. The summary is rewritten
after every cell; on Ctrl+C the current cell's processes are stopped, the partial summary
and report are written and the run is marked interrupted.
"""

from __future__ import annotations

import json
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from asgi_bench.cell import CellPlan, run_cell
from asgi_bench.config import RunConfig
from asgi_bench.manifest import build_manifest
from asgi_bench.report import render_report
from asgi_bench.results import CellResult, cell_dir_for, write_summary
from asgi_bench.servers import get_server
from asgi_bench.tls import make_cert
from asgi_bench.workloads import Workload, custom_workload, get_workload


def plan_workloads(config: RunConfig) -> list[Workload]:
    if config.app:
        return [custom_workload(config.app, config.locustfile)]
    return [get_workload(name) for name in config.apps]


def new_run_id() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def _one_interrupt(console: Console) -> Iterator[None]:
    """The first Ctrl+C interrupts; later ones are ignored so clean-up can finish."""
    interrupted = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted:
            console.print("[yellow]stopping servers and Locust, please wait…[/]")
            return
        interrupted = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_matrix(config: RunConfig, console: Console | None = None) -> tuple[Path, bool]:
    """Run everything ``config`` asks for; return the run folder and whether it completed."""
    console = console or Console()
    config = config.resolved()
    specs = [get_server(name) for name in config.servers]
    workloads = plan_workloads(config)
    run_dir = Path(config.out) / new_run_id()
    while run_dir.exists():  # two runs in one second
        run_dir = run_dir.with_name(run_dir.name + "-1")
    run_dir.mkdir(parents=True)
    plans = [
        CellPlan(spec, workload, cell_dir_for(run_dir, spec.name, workload.name))
        for spec in specs
        for workload in workloads
    ]
    manifest = build_manifest(
        config, run_dir.name, [f"{p.spec.name}/{p.workload.name}" for p in plans]
    )
    manifest["started_at"] = _now()
    _write_manifest(run_dir, manifest)
    console.print(
        f"asgi-bench run {run_dir.name}: {len(specs)} servers x {len(workloads)} apps, "
        f"{config.warmup:g}s warm-up + {config.duration:g}s each, "
        f"server CPUs {list(config.server_cpus)}, driver CPUs {list(config.driver_cpus)}"
    )
    cells: list[CellResult] = []
    completed = False
    with tempfile.TemporaryDirectory(prefix="asgi-bench-tls-") as tls_dir, _one_interrupt(console):
        certs = make_cert(Path(tls_dir)) if config.tls else None
        try:
            with _progress(console) as progress:
                task = progress.add_task("cells", total=len(plans))
                for plan in plans:
                    progress.update(task, description=f"{plan.spec.name} / {plan.workload.name}")
                    started = time.monotonic()
                    cell = run_cell(config, plan, certs)
                    cells.append(cell)
                    write_summary(run_dir, cells)
                    progress.console.print(_cell_line(cell, time.monotonic() - started))
                    progress.advance(task)
            completed = True
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: writing the partial results[/]")
            _keep_interrupted_cell(plans, cells)
        finally:
            manifest["finished_at"] = _now()
            manifest["interrupted"] = not completed
            _write_manifest(run_dir, manifest)
            write_summary(run_dir, cells)
            render_report(run_dir)
    console.print(f"results: {run_dir}  report: {run_dir / 'report.html'}")
    return run_dir, completed


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _keep_interrupted_cell(plans: list[CellPlan], cells: list[CellResult]) -> None:
    if len(cells) < len(plans):
        path = plans[len(cells)].cell_dir / "cell.json"
        if path.exists():
            cells.append(CellResult.from_dict(json.loads(path.read_text())))


def _write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    (run_dir / "run.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _cell_line(cell: CellResult, seconds: float) -> str:
    color = {"ok": "green", "failed": "red", "unsupported": "yellow"}[cell.status]
    head = f"[{color}]{cell.status:<11}[/] {cell.server:<17} {cell.app:<10}"
    if cell.status == "failed" or not cell.requests:
        return f"{head} {cell.reason}  ({seconds:.0f}s)"
    bound = "≥" if cell.driver_bound else " "
    return (
        f"{head} {bound}{cell.rps:>8.0f} req/s  p50 {cell.p50_ms:6.2f} ms  p99 {cell.p99_ms:6.2f}"
        f" ms  {cell.cpu_us_per_request:6.0f} µs CPU/req  {cell.peak_rss_mb:5.0f} MB"
        f"{'  ' + cell.reason if cell.reason else ''}  ({seconds:.0f}s)"
    )
