"""Capacity: the highest offered rate a server serves within its SLO, and what one driver
process can offer in the first place.

* ``run --rates auto``: per cell, :func:`search_cell` probes open-model steps (exponential,
  then bisection; :mod:`asgi_bench.search`) against the row's SLO, and stops where the driver
  cannot offer the rate. :func:`capacities` reads the answer back from the rows, so a report
  rebuilt later says the same.
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
from asgi_bench.results import Repeat
from asgi_bench.search import Probe, SearchResult, search
from asgi_bench.slo import Slo
from asgi_bench.summary import Row

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


def search_cell(
    measure_step: Callable[[Open], Repeat], slo: Slo, start: float, limit: float, step: Open
) -> SearchResult:
    """Search one cell's capacity at ``slo``; ``measure_step`` runs (and records) one step."""

    def probe(rate: float) -> Probe:
        repeat = measure_step(Open(rate, step.arrival, step.slots))
        if repeat.status != "ok":
            return Probe(ok=False, why=repeat.reason)
        passed, failures = slo.check({name: getattr(repeat, name) for name in slo.fields})
        return Probe(bool(passed), repeat.bound == "driver", "; ".join(failures))

    return search(probe, start, limit)


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
    A driver-limited row above it makes the figure a lower bound set by the driver."""
    cells: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if row.load == "open" and row.offered_rps and row.slo:
            cells.setdefault((row.server, row.app), []).append(row)
    found = []
    for (server, app), cell in cells.items():
        fair = [r for r in cell if r.bound != "driver"]
        met = [r.offered_rps or 0.0 for r in fair if r.slo_pass]
        best = max(met) if met else None
        above = [r for r in cell if best is None or (r.offered_rps or 0.0) > best]
        driver = any(r.bound == "driver" for r in above)
        missed = any(r.slo_pass is False or r.status != "ok" for r in above if r.bound != "driver")
        limited_by = "slo" if missed else ("driver" if driver else "untested")
        found.append(Capacity(server, app, cell[0].slo or "", best, not missed, limited_by))
    return found
