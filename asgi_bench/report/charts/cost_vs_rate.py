"""Server CPU per request against offered rate (the open model), per app, one line per
server with 95% intervals: what each server spends to serve the same load. Hollow: a
driver-limited step (the server did not get the rate)."""

from __future__ import annotations

from matplotlib.figure import Figure

from asgi_bench.report.charts._style import apps_of, color, legend_below, panels, points, servers_of
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    rows = [
        r
        for r in rows
        if r.load == "open" and r.offered_rps and r.status == "ok" and r.get("cpu_us_per_request")
    ]
    if not rows:
        return None
    servers, apps = servers_of(rows), apps_of(rows)
    figure, axes = panels(len(apps), "Server CPU per request at the same offered rate")
    for ax, app in zip(axes, apps, strict=True):
        for server in servers:
            line = sorted(
                (r for r in rows if r.app == app and r.server == server),
                key=lambda r: r.offered_rps or 0.0,
            )
            tint = color(servers, server)
            xs, ys, bars = points([r for r in line if not r.driver_bound], "cpu_us_per_request")
            if xs:
                ax.errorbar(
                    xs, ys, yerr=bars, marker="o", markersize=4, color=tint, label=server, capsize=2
                )
            xs, ys, _ = points([r for r in line if r.driver_bound], "cpu_us_per_request")
            if xs:
                ax.plot(xs, ys, "o", markerfacecolor="none", color=tint)
        ax.set_title(app)
        ax.set_xlabel("offered rate (req/s)")
        ax.set_ylabel("CPU µs per request (lower is better)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    handles = axes[0].get_legend_handles_labels()[0]
    legend_below(figure, handles, ncol=min(6, len(handles)))
    figure.tight_layout()
    return figure
