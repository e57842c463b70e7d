"""Capacity: per cell, the highest offered rate its rows met their SLO at, read back from
the rows (so a report rebuilt later says the same as the run). The search that measures
those rows is :mod:`asgi_bench.run.search`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgi_bench.results.rows import Row


@dataclass(frozen=True)
class Capacity:
    server: str
    app: str
    slo: str
    capacity_rps: float | None  # the highest offered rate that met the SLO
    lower_bound: bool  # the search stopped before it found the edge (driver or limit)
    limited_by: str  # slo, driver, or untested (every rate probed met the SLO)
    http: str = "1.1"  # each HTTP version of a cell has a capacity of its own

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def capacities(rows: list[Row]) -> list[Capacity]:
    """Per cell with open-model rows judged by an SLO: the highest offered rate that met it.
    The lowest rate above it says why it is not higher, as in the search: a missed SLO (or a
    failed row) makes it the edge; a driver-limited row makes it a lower bound the driver set,
    unless the server missed there on its own figures (:attr:`Row.driver_ceiling`)."""
    judged = {(r.server, r.app, r.http) for r in rows if r.slo}
    cells: dict[tuple[str, str, str], list[Row]] = {}
    for row in rows:
        # A failed row of a judged cell has no SLO verdict of its own, but it is an edge.
        key = (row.server, row.app, row.http)
        if row.load == "open" and row.offered_rps and key in judged:
            cells.setdefault(key, []).append(row)
    found = []
    for (server, app, http), cell in cells.items():
        slo = next(r.slo for r in cell if r.slo)
        met = [r.offered_rps or 0.0 for r in cell if r.bound != "driver" and r.slo_pass]
        best = max(met) if met else None
        above = sorted(
            (r for r in cell if best is None or (r.offered_rps or 0.0) > best),
            key=lambda r: r.offered_rps or 0.0,
        )
        edge = next(
            (r for r in above if r.driver_bound or r.slo_pass is False or r.status != "ok"),
            None,
        )
        limited_by = "untested" if edge is None else "driver" if edge.driver_ceiling else "slo"
        lower_bound = limited_by != "slo"
        found.append(Capacity(server, app, slo or "", best, lower_bound, limited_by, http))
    return found
