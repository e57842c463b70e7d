"""Latency over time per app: client p99 (solid) and p50 (dotted) per second, per server,
from each row's first ok repeat. The warm-up, excluded from every other number, is shaded."""

from __future__ import annotations

from matplotlib.figure import Figure

from asgi_bench.report.charts._style import (
    apps_of,
    color,
    legend_below,
    panels,
    plain_log_axis,
    servers_of,
)
from asgi_bench.report.charts._timeline import Clock, first_repeats
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    series = first_repeats(rows, layout)
    if not series:
        return None
    servers, apps = servers_of(rows), apps_of(rows)
    figure, axes = panels(len(apps), "Client latency over time (ms, log scale)", width=5.6)
    for ax, app in zip(axes, apps, strict=True):
        clock = Clock()
        for server in servers:
            data = series.get(f"{server}/{app}")
            points = [p for p in (data or {}).get("series", []) if p.get("p50_ms") is not None]
            if not data or not points:
                continue
            t = clock.times(data, points)
            tint = color(servers, server)
            ax.plot(t, [p["p99_ms"] for p in points], color=tint, label=server)
            ax.plot(t, [p["p50_ms"] for p in points], color=tint, linestyle=":")
        clock.shade(ax)
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
