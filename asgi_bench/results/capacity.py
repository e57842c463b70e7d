"""Capacity: the highest offered rate a server serves within its SLO, and what one driver
process can offer in the first place.

* ``run --rates auto``: per cell, :func:`search_cell` probes open-model steps (exponential,
  then bisection; :mod:`asgi_bench.run.search`) against the row's SLO, and stops where the driver
  cannot offer the rate; a miss in a disturbed window is measured twice more before it
  counts. :func:`capacities` reads the answer back from the rows, so a report rebuilt later
  says the same.
* ``driver-check``: the same search against a trivial, fast server (granian, hello) with the
  driver keeping its schedule as the target (late arrivals under 1%, the offered rate sent).
  Its figure is kept in the user's cache and used to warn before a run asks for more.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asgi_bench.load.open import Open
from asgi_bench.results.repeat import Repeat
from asgi_bench.results.summary import Row, aggregate, judge_row
from asgi_bench.run.search import Probe, SearchResult, search
from asgi_bench.verdict.interference import INTERFERENCE_AT
from asgi_bench.verdict.slo import Slo

DEFAULT_DRIVER_RPS = 4000.0  # per process, until driver-check has measured this machine


def cache_file() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "asgi-bench" / "driver-check.json"


@dataclass(frozen=True)
class DriverFigure:
    rps_per_process: float
    source: str  # where the figure comes from, for people


def driver_figure() -> DriverFigure:
    """What one driver process can offer here: measured by driver-check on this host, or a
    conservative estimate."""
    try:
        data = json.loads(cache_file().read_text())
        if data.get("host") == socket.gethostname() and data.get("rps_per_process"):
            when = data.get("measured_at", "?")
            return DriverFigure(float(data["rps_per_process"]), f"driver-check of {when}")
    except (OSError, ValueError):
        pass
    return DriverFigure(DEFAULT_DRIVER_RPS, "an estimate; run asgi-bench driver-check")


def save_driver_figure(rps: float, lag_p99_ms: float | None, detail: dict[str, Any]) -> Path:
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "host": socket.gethostname(),
        "rps_per_process": rps,
        "lag_p99_ms": lag_p99_ms,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **detail,
    }
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


CONFIRM = 2  # more repeats of a step that missed in a disturbed window: three, the median decides


def search_cell(
    measure_step: Callable[[Open, int], Repeat],
    slo: Slo,
    start: float,
    limit: float,
    step: Open,
    repeat: int = 1,
) -> SearchResult:
    """Search one cell's capacity at ``slo``; ``measure_step(step, k)`` runs (and records)
    repeat ``k`` of one step, ``repeat`` times per step. Each step is judged as its summary
    row will be, by the medians over its repeats. A step that missed in a disturbed window
    (a trend or step inside it, or others using the pinned CPUs) is measured ``CONFIRM``
    more times: on a shared machine one hiccup must not set a capacity."""

    def probe(rate: float) -> Probe:
        at = Open(rate, step.arrival, step.slots)
        repeats = [measure_step(at, k) for k in range(1, repeat + 1)]
        row = _judged(repeats, slo)
        if row.slo_pass is False and row.bound != "driver" and any(map(_disturbed, repeats)):
            repeats += [measure_step(at, k) for k in range(repeat + 1, repeat + 1 + CONFIRM)]
            row = _judged(repeats, slo)
        if row.status != "ok":
            return Probe(ok=False, why=row.reason)
        return Probe(bool(row.slo_pass), row.bound == "driver", row.slo_detail)

    return search(probe, start, limit)


def _judged(repeats: list[Repeat], slo: Slo) -> Row:
    [row] = aggregate(repeats)
    if row.status == "ok":
        judge_row(row, slo)
    return row


def _disturbed(repeat: Repeat) -> bool:
    return bool(repeat.unsteady) or (repeat.interference or 0.0) > INTERFERENCE_AT


@dataclass(frozen=True)
class Capacity:
    server: str
    app: str
    slo: str
    capacity_rps: float | None  # the highest offered rate that met the SLO
    lower_bound: bool  # the search stopped before it found the edge (driver or limit)
    limited_by: str  # slo, driver, or untested (every rate probed met the SLO)

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def capacities(rows: list[Row]) -> list[Capacity]:
    """Per cell with open-model rows judged by an SLO: the highest offered rate that met it.
    The lowest rate above it says why it is not higher, as in the search: a missed SLO (or a
    failed row) makes it the edge; a driver-limited row makes it a lower bound the driver set."""
    cells: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row.load == "open" and row.offered_rps and row.slo:
            cells.setdefault((row.server, row.app), []).append(row)
    found = []
    for (server, app), cell in cells.items():
        met = [r.offered_rps or 0.0 for r in cell if r.bound != "driver" and r.slo_pass]
        best = max(met) if met else None
        above = sorted(
            (r for r in cell if best is None or (r.offered_rps or 0.0) > best),
            key=lambda r: r.offered_rps or 0.0,
        )
        edge = next(
            (r for r in above if r.bound == "driver" or r.slo_pass is False or r.status != "ok"),
            None,
        )
        limited_by = "untested" if edge is None else "driver" if edge.bound == "driver" else "slo"
        found.append(
            Capacity(server, app, cell[0].slo or "", best, limited_by != "slo", limited_by)
        )
    return found
