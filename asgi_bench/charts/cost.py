"""Server cost: CPU microseconds per request (independent of the driver) and peak RSS of
the server's whole process tree, per app, one bar per server."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from asgi_bench.charts._style import apps_of, color, finite, servers_of
from asgi_bench.results import CellResult


def draw(cells: list[CellResult], run_dir: Path) -> Figure | None:
    if not any(c.status == "ok" and finite(c.cpu_us_per_request) for c in cells):
        return None  # e.g. targets mode without access to the Docker API
    figure, (cpu_ax, rss_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    figure.suptitle("Server cost", fontsize=13, fontweight="bold")
    _grouped(cpu_ax, cells, "cpu_us_per_request", "CPU µs per request (lower is better)", "{:.0f}")
    _grouped(rss_ax, cells, "peak_rss_mb", "Peak RSS of the server tree (MB)", "{:.0f}")
    handles, labels = cpu_ax.get_legend_handles_labels()
    figure.legend(
        handles,
        labels,
        loc="lower center",
        ncol=len(labels),
        fontsize=8,
        bbox_to_anchor=(0.5, -0.05),
    )
    figure.tight_layout()
    return figure


def _grouped(ax: Axes, cells: list[CellResult], field: str, title: str, fmt: str) -> None:
    servers, apps = servers_of(cells), apps_of(cells)
    width = 0.8 / max(1, len(servers))
    for i, server in enumerate(servers):
        labelled = False
        for x, app in enumerate(apps):
            cell = next((c for c in cells if c.server == server and c.app == app), None)
            if cell is None or cell.status != "ok" or not finite(getattr(cell, field)):
                continue
            value: float = getattr(cell, field)
            position = x - 0.4 + width * (i + 0.5)
            ax.bar(
                position,
                value,
                width,
                color=color(servers, server),
                label=None if labelled else server,
            )
            labelled = True
            ax.text(
                position,
                value,
                fmt.format(value),
                ha="center",
                va="bottom",
                fontsize=6,
                rotation=90,
            )
    ax.set_xticks(range(len(apps)), apps)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.margins(y=0.15)
