"""Server cost: CPU microseconds per successful request (independent of the driver) and
peak memory of the server's whole process tree, per app, one bar per server. Hatched:
driver-bound rows, whose cost per request includes more idle time than a saturated
server's would."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from asgi_bench.report.charts._style import (
    apps_of,
    bar_error,
    color,
    finite,
    hatch,
    headline,
    legend_below,
    servers_of,
)
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    rows = headline(rows)
    if not any(r.status == "ok" and finite(r.get("cpu_us_per_request")) for r in rows):
        return None  # e.g. targets mode without access to the Docker API
    figure, (cpu_ax, mem_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    figure.suptitle("Server cost", fontsize=13, fontweight="bold")
    _grouped(cpu_ax, rows, "cpu_us_per_request", "CPU µs per request (lower is better)")
    kinds = sorted({r.memory_kind for r in rows if r.memory_kind})
    _grouped(
        mem_ax, rows, "peak_rss_mib", f"Peak memory of the server tree, MiB ({', '.join(kinds)})"
    )
    handles = cpu_ax.get_legend_handles_labels()[0]
    legend_below(figure, handles, ncol=len(handles), rows=rows)
    figure.tight_layout()
    return figure


def _grouped(ax: Axes, rows: list[Row], name: str, title: str) -> None:
    servers, apps = servers_of(rows), apps_of(rows)
    width = 0.8 / max(1, len(servers))
    for i, server in enumerate(servers):
        labelled = False
        for x, app in enumerate(apps):
            row = next((r for r in rows if r.server == server and r.app == app), None)
            value = row.get(name) if row is not None else None
            if row is None or row.status != "ok" or value is None or not finite(value):
                continue
            position = x - 0.4 + width * (i + 0.5)
            ax.bar(
                position,
                value,
                width,
                color=color(servers, server),
                hatch=hatch(row),
                edgecolor="black" if row.driver_bound else None,
                linewidth=0.3,
                label=None if labelled else server,
                yerr=bar_error(row, name),
                capsize=2,
            )
            labelled = True
            ax.text(
                position, value, f"{value:.0f}", ha="center", va="bottom", fontsize=6, rotation=90
            )
    ax.set_xticks(range(len(apps)), apps)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.margins(y=0.15)
