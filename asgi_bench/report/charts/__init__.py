"""Comparison charts: name -> ``module:function``, imported lazily.

Each function takes the run's summary rows and its layout and returns a matplotlib Figure
(or None when it has nothing to show); :func:`draw_all` saves every chart as PNG and SVG.
To add a chart, write one small module beside this one and add one line here.

Example, a chart in one module::

    def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
        ok = [r for r in rows if r.status == "ok"]
        if not ok:
            return None
        figure, ax = plt.subplots()
        ax.bar([r.cell for r in ok], [r.get("rps") or 0 for r in ok])
        return figure
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from asgi_bench.errors import WriteError
from asgi_bench.report.charts._hover import mark, titled
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row
from asgi_bench.system.importer import import_from_string

CHARTS: dict[str, str] = {
    "latency_vs_rate": "asgi_bench.report.charts.latency_vs_rate:draw",
    "cost_vs_rate": "asgi_bench.report.charts.cost_vs_rate:draw",
    "throughput": "asgi_bench.report.charts.throughput:draw",
    "latency": "asgi_bench.report.charts.latency:draw",
    "streaming": "asgi_bench.report.charts.streaming:draw",
    "spectrum": "asgi_bench.report.charts.spectrum:draw",
    "latency_over_time": "asgi_bench.report.charts.latency_over_time:draw",
    "throughput_over_time": "asgi_bench.report.charts.throughput_over_time:draw",
    "cost": "asgi_bench.report.charts.cost:draw",
    "components": "asgi_bench.report.charts.components:draw",
    "errors": "asgi_bench.report.charts.errors:draw",
}

# Charts of what a run measures only when asked: the flag that gives them something to draw.
OPT_IN = {"components": "--profile"}

ChartFunction = Callable[[list[Row], RunLayout], Figure | None]


def draw_all(rows: list[Row], layout: RunLayout) -> tuple[dict[str, str], dict[str, str]]:
    """Save every chart into the run's charts folder. Returns (name -> PNG path, name -> why
    it could not be drawn): one broken chart does not stop the others or the report. A native
    tool's rows (calibration) are in the report's peak table, never in a chart."""
    rows = [r for r in rows if r.load != "native"]
    # One protocol per chart: HTTP/1.1 where the run has it (HTTP/2 beside it is the
    # protocol table's), else HTTP/2.
    spoken = "1.1" if any(r.http == "1.1" for r in rows) else "2"
    rows = [r for r in rows if r.http == spoken]
    layout.charts_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    failed: dict[str, str] = {}
    for name, target in CHARTS.items():
        draw: ChartFunction = import_from_string(target)
        try:
            figure = draw(rows, layout)
            if figure is None:
                continue
            try:
                titles = mark(figure)
                for suffix in ("png", "svg"):
                    save_figure(figure, layout.chart(name, suffix), close=False)
            finally:
                plt.close(figure)
            svg = layout.chart(name, "svg")
            svg.write_text(titled(svg.read_text(encoding="utf-8"), titles), encoding="utf-8")
        except OSError as exc:
            raise WriteError(f"could not write chart {name}: {exc.strerror or exc}") from exc
        except Exception as exc:  # a chart bug must not cost the report
            failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        written[name] = str(layout.chart(name))
    return written, failed


def save_figure(figure: Figure, path: Path, close: bool = True) -> Path:
    """Write ``figure`` to ``path`` (its suffix names the format), then close it unless told
    not to: pyplot keeps every figure alive until it is closed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(path, dpi=110, bbox_inches="tight")
    finally:
        if close:
            plt.close(figure)
    return path
