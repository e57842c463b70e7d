"""The summary of a run: its rows judged by their SLOs, and ``summary.json`` / ``summary.csv``
with the capacities a search found. The rows themselves are :mod:`asgi_bench.results.rows`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asgi_bench.results.capacity import Capacity, capacities
from asgi_bench.results.layout import RunLayout, write_json, write_text
from asgi_bench.results.repeat import Repeat
from asgi_bench.results.rows import Row, aggregate, csv_text, paired_run, sort_rows
from asgi_bench.verdict.limits import BOUND_AT
from asgi_bench.verdict.slo import DRIVER_FIELDS, Slo, driver_decided, missed_from_send, parse_slo


def write_summary(layout: RunLayout, rows: list[Row], manifest: dict[str, Any]) -> list[Capacity]:
    """summary.json and summary.csv: the rows, the failed ones again as errors, and the
    capacities a search found (only a run with ``--rates auto`` has them), returned."""
    search = (manifest.get("settings") or {}).get("search")
    found = capacities(rows) if search else []
    errors = [
        {"server": r.server, "app": r.app, "step": r.step, "status": r.status, "reason": r.reason}
        for r in rows
        if r.status != "ok"
    ]
    payload = {
        "rows": [r.to_dict() for r in rows],
        "errors": errors,
        "capacity": [c.to_dict() for c in found],
    }
    write_json(layout.summary_json, payload, schema=True)
    write_text(layout.summary_csv, csv_text(rows))
    return found


def apply_slo(rows: list[Row], objectives: dict[str, str]) -> None:
    """Judge each ok row by its app's objective (``app -> "p99<10ms,errors<0.1%"``); a
    native row is calibration, not a verdict on the server, and is not judged."""
    parsed = {app: parse_slo(text) for app, text in objectives.items() if text}
    for row in rows:
        slo = parsed.get(row.app)
        if slo is not None and row.status == "ok" and row.load != "native":
            judge_row(row, slo)


def judge_row(row: Row, slo: Slo) -> None:
    """Judge one ok row by ``slo``. A miss the driver's lag decided makes it driver-bound; a
    driver-limited row that missed even from the actual send, read by a driver with
    headroom, is the server's miss (:attr:`Row.driver_ceiling`)."""
    values = {name: row.get(name) for name in (*slo.fields, *DRIVER_FIELDS)}
    row.slo = slo.text
    row.slo_pass, failures = slo.check(values)
    if driver_decided(slo, values):
        # Not the server's verdict: the row is driver-limited for this question.
        row.bound = "driver"
        failures.append("met from the actual send: the driver's lag decided it")
    busy = values.get("driver_busy")
    # A few late dispatches only fatten the corrected tail; a busy driver also reads the
    # answers late, so then not even the figures from the send are the server's alone.
    row.server_missed = (
        row.driver_bound and missed_from_send(slo, values) and (busy is None or busy < BOUND_AT)
    )
    if row.server_missed:
        failures.append("missed from the actual send too: the server's miss")
    row.slo_detail = "; ".join(failures)


def rows_of(repeats: Iterable[Repeat], manifest: dict[str, Any]) -> list[Row]:
    """The summary rows of a run: aggregated, in the run's order, judged by their SLOs."""
    rows = sort_rows(aggregate(repeats, paired_run(manifest)), manifest)
    objectives = (manifest.get("settings") or {}).get("slo") or {}
    if isinstance(objectives, dict):
        apply_slo(rows, objectives)
    return rows
