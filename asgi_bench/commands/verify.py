"""``asgi-bench verify``: the verify step alone, for every server x app, no load.

Each cell gets a fresh server (serving the app as a run measures it: behind the middleware,
unless ``--no-metrics``), the checks of :mod:`asgi_bench.run.verify`, and a stop. It prints
a matrix (pass; HTTP: the load's answers right, HEAD or 404 wrong; FAIL: a run would give
it no load), what differed in each cell that did not pass, and one last line a script can
read::

    verify: 104 cells, 101 passed, 2 not conforming, 0 failed, 1 unsupported
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from asgi_bench import exitcodes
from asgi_bench.errors import Interrupted, ServerStartError, UsageError
from asgi_bench.frameworks import framework_missing, through_frameworks
from asgi_bench.run.database import database_for, unavailable
from asgi_bench.run.resources import free_port
from asgi_bench.run.server import start_server
from asgi_bench.run.verify import verify
from asgi_bench.servers import SERVERS, ServerSpec, get_server
from asgi_bench.system.signals import stop_signals
from asgi_bench.system.tls import CertPair, make_cert
from asgi_bench.system.watchdog import scratch_dir
from asgi_bench.workloads import WORKLOADS, Workload, get_workload

MARKS = {
    "passed": "[green]pass[/]",
    "nonconforming": "[yellow]HTTP[/]",
    "failed": "[red]FAIL[/]",
    "unsupported": "–",
}


@dataclass(frozen=True)
class Cell:
    # passed; nonconforming: the load's answers right, HEAD or 404 wrong (a run measures
    # it and notes that); failed: a run gives it no load; unsupported
    state: str
    detail: str


def run_verify(args: argparse.Namespace, console: Console) -> int:
    specs = [get_server(name) for name in _names(args.servers, "--servers", list(SERVERS))]
    chosen = tuple(get_workload(name) for name in _names(args.apps, "--apps", list(WORKLOADS)))
    frameworks = tuple(_names(args.frameworks, "--frameworks", ["raw"]))
    workloads = list(through_frameworks(chosen, frameworks))
    cells: dict[tuple[str, str], Cell] = {}
    try:
        with (
            stop_signals(),
            scratch_dir("asgi-bench-verify-") as scratch,
            database_for(workloads, args.db_dsn, ()) as database,
        ):
            work = Path(scratch)
            certs = make_cert(work / "tls") if args.tls else None
            for spec in specs:
                for workload in workloads:
                    why = unavailable(workload, database)
                    if why:
                        cells[spec.name, workload.name] = Cell("unsupported", why)
                        continue
                    cell = verify_cell(spec, workload, work, certs, args.metrics)
                    cells[spec.name, workload.name] = cell
    except Interrupted as exc:
        console.print(f"[red]interrupted ({exc.name})[/]: the matrix below is what was verified")
        _print(console, specs, workloads, cells)
        return exitcodes.SIGNALLED + exc.signum
    _print(console, specs, workloads, cells)
    return exitcodes.VERIFY_FAILED if any(c.state == "failed" for c in cells.values()) else 0


def verify_cell(
    spec: ServerSpec, workload: Workload, work: Path, certs: CertPair | None, metrics: bool
) -> Cell:
    """One cell: a fresh server, the checks, the server stopped, whatever happened."""
    if not spec.available:
        return Cell("unsupported", f"{spec.name} is not installed ({spec.install_hint})")
    missing_framework = framework_missing(workload)
    if missing_framework:
        return Cell("unsupported", missing_framework)
    missing = workload.needs - spec.supports
    if missing:
        return Cell("unsupported", f"{spec.name} has no {', '.join(sorted(missing))}")
    folder = work / f"{spec.name}-{workload.name}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with start_server(
            spec, workload, free_port(), folder, certs=certs, metrics=metrics
        ) as server:
            seen = verify(workload, server.base_url)
    except ServerStartError as exc:
        return Cell("failed", str(exc))
    verified, conforms = seen
    if not verified.ok:
        return Cell("failed", verified.detail)
    return Cell("passed" if conforms.ok else "nonconforming", conforms.detail)


def _names(text: str | None, flag: str, every: list[str]) -> list[str]:
    if text is None:
        return every
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise UsageError(f"{flag} is empty; choose from: {', '.join(every)}")
    return names


def _print(
    console: Console,
    specs: list[ServerSpec],
    workloads: list[Workload],
    cells: dict[tuple[str, str], Cell],
) -> None:
    table = Table(title="verify: the answers each workload's load checks, and HTTP beside them")
    table.add_column("app", overflow="fold")
    for spec in specs:  # folded, not cut: uvicorn and uvicorn-h11 stay apart in 80 columns
        table.add_column(spec.name, overflow="fold")
    for workload in workloads:
        marks = [cells.get((spec.name, workload.name)) for spec in specs]
        table.add_row(workload.name, *(MARKS[c.state] if c else "not run" for c in marks))
    console.print(table)
    for (server, app), cell in cells.items():
        if cell.state != "passed":
            console.print(f"{cell.state} {server}/{app}: {cell.detail}", soft_wrap=True)
    states = [cell.state for cell in cells.values()]
    console.print(
        f"verify: {len(states)} cells, {states.count('passed')} passed, "
        f"{states.count('nonconforming')} not conforming, {states.count('failed')} failed, "
        f"{states.count('unsupported')} unsupported",
        soft_wrap=True,
    )
