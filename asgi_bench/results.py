"""The data model of a run: one :class:`CellResult` per (server, app), and their summary.

``summary.json`` and ``summary.csv`` are rewritten after every cell, so an interrupted run
still leaves a valid summary of what it finished.
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from asgi_bench.errors import ResultsError

STATUSES = ("ok", "failed", "unsupported")


@dataclass
class CellResult:
    server: str
    app: str
    status: str = "failed"
    reason: str = ""
    requests: int = 0
    rps: float = math.nan
    p50_ms: float = math.nan
    p90_ms: float = math.nan
    p99_ms: float = math.nan
    p999_ms: float = math.nan
    max_ms: float = math.nan
    errors: int = 0
    non_2xx: int = 0
    wrong_body: int = 0
    exceptions: int = 0
    cpu_us_per_request: float = math.nan
    server_cpu_busy: float = math.nan
    peak_rss_mb: float = math.nan
    driver_busy: float = math.nan
    driver_bound: bool = False
    total_requests: int = 0
    server_requests: int | None = None
    count_match: bool | None = None
    server_p50_ms: float = math.nan
    server_p90_ms: float = math.nan
    server_p99_ms: float = math.nan
    server_ttfb_p50_ms: float = math.nan
    window_s: int = 0
    workers: int = 1
    tls: bool = False
    # Not in the CSV: nested data.
    capabilities: dict[str, bool] = field(default_factory=dict)
    capability_details: dict[str, str] = field(default_factory=dict)
    log_tail: str = ""

    @property
    def key(self) -> str:
        return f"{self.server}/{self.app}"

    def to_dict(self) -> dict[str, Any]:
        return {key: _json_safe(value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellResult:
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in known:
                # JSON has no NaN: missing floats were written as null.
                missing_float = value is None and known[key].type == "float"
                values[key] = math.nan if missing_float else value
        return cls(**values)


NESTED = ("capabilities", "capability_details", "log_tail")
CSV_FIELDS = [f.name for f in fields(CellResult) if f.name not in NESTED]


def _json_safe(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_summary(run_dir: Path, cells: list[CellResult]) -> None:
    errors = [
        {"server": c.server, "app": c.app, "status": c.status, "reason": c.reason}
        for c in cells
        if c.status != "ok"
    ]
    payload = {"cells": [c.to_dict() for c in cells], "errors": errors}
    _atomic_write(run_dir / "summary.json", json.dumps(payload, indent=2) + "\n")
    tmp = run_dir / "summary.csv.tmp"
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for cell in cells:
            writer.writerow({k: ("" if v is None else v) for k, v in cell.to_dict().items()})
    os.replace(tmp, run_dir / "summary.csv")


def write_cell(cell_dir: Path, cell: CellResult) -> None:
    cell_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(cell_dir / "cell.json", json.dumps(cell.to_dict(), indent=2) + "\n")


def load_cells(run_dir: Path) -> list[CellResult]:
    """Cells from the per-cell folders (the raw data), in run order."""
    try:
        order = json.loads((run_dir / "run.json").read_text()).get("cells_planned", [])
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{run_dir} is not a results folder (no readable run.json)") from exc
    cells = []
    for key in order:
        path = run_dir / "cells" / key.replace("/", "__") / "cell.json"
        if path.exists():
            cells.append(CellResult.from_dict(json.loads(path.read_text())))
    return cells


def cell_dir_for(run_dir: Path, server: str, app: str) -> Path:
    return run_dir / "cells" / f"{server}__{app}"
