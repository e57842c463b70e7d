"""Comparison charts: name -> ``module:function``, imported lazily.

Each function takes the run's cells and its folder and returns a matplotlib Figure (or None
when it has nothing to show); :func:`draw_all` saves every chart as PNG and SVG. To add a
chart, write one small module beside this one and add one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from asgi_bench.results import CellResult

CHARTS: dict[str, str] = {
    "throughput": "asgi_bench.charts.throughput:draw",
    "latency": "asgi_bench.charts.latency:draw",
    "latency_over_time": "asgi_bench.charts.timeline:draw",
    "cost": "asgi_bench.charts.cost:draw",
    "errors": "asgi_bench.charts.errors:draw",
}

ChartFunction = Callable[[list[CellResult], Path], Figure | None]


def draw_all(cells: list[CellResult], run_dir: Path) -> dict[str, Path]:
    """Save every chart into ``run_dir/charts``; returns name -> PNG path."""
    out = run_dir / "charts"
    out.mkdir(exist_ok=True)
    written = {}
    for name, target in CHARTS.items():
        module, attribute = target.split(":")
        draw: ChartFunction = getattr(importlib.import_module(module), attribute)
        figure = draw(cells, run_dir)
        if figure is None:
            continue
        for suffix in ("png", "svg"):
            figure.savefig(out / f"{name}.{suffix}", dpi=110, bbox_inches="tight")
        written[name] = out / f"{name}.png"
        plt.close(figure)  # pyplot keeps every figure alive until closed
    return written
