"""Requests per second, per app, one bar per server. Driver-bound bars are hatched and
marked "≥": the driver, not the server, was the limit, so they are lower bounds."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from asgi_bench.charts._style import apps_of, color, finite, panels, servers_of, status_mark
from asgi_bench.results import CellResult


def draw(cells: list[CellResult], run_dir: Path) -> Figure | None:
    if not cells:
        return None
    servers, apps = servers_of(cells), apps_of(cells)
    figure, axes = panels(len(apps), "Throughput (requests/s, measured window)")
    for ax, app in zip(axes, apps, strict=True):
        row = {c.server: c for c in cells if c.app == app}
        top = max((c.rps for c in row.values() if c.status == "ok" and finite(c.rps)), default=1)
        for x, server in enumerate(servers):
            cell = row.get(server)
            if cell is None:
                continue
            if cell.status != "ok" or not finite(cell.rps):
                status_mark(ax, x, cell)
                continue
            ax.bar(
                x,
                cell.rps,
                color=color(servers, server),
                hatch="//" if cell.driver_bound else None,
                edgecolor="black",
                linewidth=0.5,
            )
            label = f"{'≥' if cell.driver_bound else ''}{cell.rps:,.0f}"
            ax.text(x, cell.rps + top * 0.01, label, ha="center", va="bottom", fontsize=8)
        ax.set_title(app)
        ax.set_xticks(range(len(servers)), servers, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, top * 1.15)
        ax.set_ylabel("req/s")
        ax.grid(axis="y", alpha=0.3)
    if any(c.driver_bound for c in cells):
        figure.text(
            0.5,
            -0.02,
            "hatched, ≥: Locust was ≥90% busy; the server may be faster",
            ha="center",
            fontsize=9,
            style="italic",
        )
    figure.tight_layout()
    return figure
