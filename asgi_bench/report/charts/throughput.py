"""Requests per second, per app, one bar per server. Driver-bound bars are hatched and
marked "≥": the driver, not the server, was the limit, so they are lower bounds."""

from __future__ import annotations

from matplotlib.figure import Figure

from asgi_bench.report.charts._style import (
    apps_of,
    bar_error,
    bound_note,
    color,
    hatch,
    headline,
    noisy_mark,
    panels,
    servers_of,
    status_mark,
)
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    rows = [r for r in headline(rows) if r.load == "closed"]
    if not rows:
        return None
    servers, apps = servers_of(rows), apps_of(rows)
    figure, axes = panels(len(apps), "Peak throughput (requests/s, closed loop)")
    for ax, app in zip(axes, apps, strict=True):
        row_of = {r.server: r for r in rows if r.app == app}
        rates = [r.get("rps") for r in row_of.values() if r.status == "ok"]
        top = max((v for v in rates if v is not None), default=1.0) or 1.0
        for x, server in enumerate(servers):
            row = row_of.get(server)
            if row is None:
                continue
            rps = row.get("rps")
            if row.status != "ok" or rps is None:
                status_mark(ax, x, row)
                continue
            ax.bar(
                x,
                rps,
                color=color(servers, server),
                hatch=hatch(row),
                edgecolor="black",
                linewidth=0.5,
                yerr=bar_error(row, "rps"),
                capsize=3,
            )
            label = f"{'≥' if row.driver_bound else ''}{rps:,.0f}"
            ax.text(x, rps + top * 0.03, label, ha="center", va="bottom", fontsize=8)
            noisy_mark(ax, x, rps + top * 0.09, row)
        ax.set_title(app)
        ax.set_xticks(range(len(servers)), servers, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, top * 1.15)
        ax.set_ylabel("req/s")
        ax.grid(axis="y", alpha=0.3)
    bound_note(figure, rows)
    figure.tight_layout()
    return figure
