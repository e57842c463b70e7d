"""Requests and errors per second over time per app, per server, from each row's first ok
repeat (the row the bar charts show): completed successes per wall-clock second (solid) and
failures (red crosses, on the same scale). A stall, a ramp or a burst of errors that the
window's totals average away shows here; the warm-up and the stop are shaded."""

from __future__ import annotations

from matplotlib.figure import Figure

from asgi_bench.report.charts._style import apps_of, color, legend_below, panels, servers_of
from asgi_bench.report.charts._timeline import Clock, first_repeats
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    series = first_repeats(rows, layout)
    if not series:
        return None
    servers, apps = servers_of(rows), apps_of(rows)
    figure, axes = panels(len(apps), "Requests and errors per second over time", width=5.6)
    for ax, app in zip(axes, apps, strict=True):
        clock = Clock()
        for server in servers:
            data = series.get(f"{server}/{app}")
            points = (data or {}).get("series", [])
            if not data or not points:
                continue
            t = clock.times(data, points)
            ax.plot(t, [p.get("ok", 0) for p in points], color=color(servers, server), label=server)
            failed = [(x, p["failed"]) for x, p in zip(t, points, strict=True) if p.get("failed")]
            if failed:
                ax.scatter(*zip(*failed, strict=True), marker="x", color="#d62728", zorder=3)
        clock.shade(ax)
        ax.set_ylim(bottom=0)
        ax.set_title(app)
        ax.set_xlabel("seconds since start (shaded: outside the measured window)")
        ax.set_ylabel("per second")
        ax.grid(alpha=0.3)
    handles = axes[0].get_legend_handles_labels()[0]
    legend_below(figure, handles, ncol=len(servers), drop=0.12, title="×: failed requests")
    figure.tight_layout()
    return figure
