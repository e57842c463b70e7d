"""Latency over time per app: client p99 (solid) and p50 (dotted) per second, per server,
from each row's first ok repeat. The warm-up, excluded from every other number, is shaded."""

from __future__ import annotations

import math

from matplotlib.figure import Figure

from asgi_bench.errors import ResultsError
from asgi_bench.report.charts._style import (
    apps_of,
    color,
    headline,
    legend_below,
    panels,
    plain_log_axis,
    servers_of,
)
from asgi_bench.results.layout import RunLayout, read_json
from asgi_bench.results.rows import Row


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    series = {}
    for row in headline(rows):
        if row.status != "ok":
            continue
        for repeat in range(1, row.planned + 1):
            path = layout.repeat(row.server, row.app, row.step, repeat).client_json
            try:
                series[row.cell] = read_json(path)
                break
            except ResultsError:
                continue
    if not series:
        return None
    servers, apps = servers_of(rows), apps_of(rows)
    figure, axes = panels(len(apps), "Client latency over time (ms, log scale)", width=5.6)
    for ax, app in zip(axes, apps, strict=True):
        warm_end, window_end, last = 0.0, math.inf, 0.0
        for server in servers:
            data = series.get(f"{server}/{app}")
            points = [p for p in (data or {}).get("series", []) if p.get("p50_ms") is not None]
            if not data or not points:
                continue
            # Points sit mid-second: each is one wall-clock second of completed requests.
            origin = math.floor(data["test_start"])
            t = [p["t"] + data["test_start"] - origin + 0.5 for p in points]
            tint = color(servers, server)
            ax.plot(t, [p["p99_ms"] for p in points], color=tint, label=server)
            ax.plot(t, [p["p50_ms"] for p in points], color=tint, linestyle=":")
            warm_end = max(warm_end, data["window"][0] - origin)
            window_end = min(window_end, data["window"][1] - origin)
            last = max(last, t[-1] + 0.5)
        # Before the window: the warm-up; after it: the driver stopping. Neither is counted.
        ax.axvspan(0, warm_end, color="#cccccc", alpha=0.4, linewidth=0)
        if window_end < last:
            ax.axvspan(window_end, last, color="#cccccc", alpha=0.4, linewidth=0)
        plain_log_axis(ax)
        ax.set_title(app)
        ax.set_xlabel("seconds since start (shaded: outside the measured window)")
        ax.set_ylabel("ms")
        ax.grid(alpha=0.3, which="both")
    handles = axes[0].get_legend_handles_labels()[0]
    legend_below(
        figure,
        handles,
        ncol=len(servers),
        drop=0.12,
        title="solid p99, dotted p50",
        title_fontsize=8,
    )
    figure.tight_layout()
    return figure
