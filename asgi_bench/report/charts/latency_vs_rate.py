"""Latency against offered rate (the open model), per app: p99 (solid) and p50 (dashed) per
server with their 95% intervals, the SLO's latency limit drawn, each server's highest
measured rate within the SLO starred (its capacity when a search ran, a lower bound on a
ladder). A driver-limited point is hollow and not joined: it is not the server's."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from asgi_bench.report.charts._style import (
    apps_of,
    color,
    legend_below,
    panels,
    plain_log_axis,
    points,
    servers_of,
)
from asgi_bench.results.capacity import capacities
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row
from asgi_bench.verdict.slo import parse_slo


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    rows = [r for r in rows if r.load == "open" and r.offered_rps and r.status == "ok"]
    if not rows:
        return None
    servers, apps = servers_of(rows), apps_of(rows)
    knees = {(c.server, c.app): c for c in capacities(rows) if c.capacity_rps}
    figure, axes = panels(len(apps), "Latency at the same offered rate (ms, log)", width=5.6)
    for ax, app in zip(axes, apps, strict=True):
        for server in servers:
            line = sorted(
                (r for r in rows if r.app == app and r.server == server),
                key=lambda r: r.offered_rps or 0.0,
            )
            _server_lines(ax, line, color(servers, server), server)
            knee = knees.get((server, app))
            if knee is not None:
                at = [r for r in line if r.offered_rps == knee.capacity_rps]
                xs, ys, _ = points(at, "p99_ms")
                if xs:
                    ax.plot(
                        xs,
                        ys,
                        "*",
                        markersize=13,
                        color=color(servers, server),
                        markeredgecolor="black",
                    )
        _slo_line(ax, [r for r in rows if r.app == app])
        plain_log_axis(ax)
        ax.set_title(app)
        ax.set_xlabel("offered rate (req/s)")
        ax.set_ylabel("ms, from the intended send")
        ax.grid(alpha=0.3, which="both")
    handles = axes[0].get_legend_handles_labels()[0]
    legend_below(figure, handles, ncol=min(6, len(handles)), drop=0.06)
    figure.text(
        0.5,
        -0.1,
        "solid p99, dashed p50; hollow: driver-limited (not the server's); "
        "★ highest rate measured within the SLO; dotted line: the SLO",
        ha="center",
        fontsize=8,
        style="italic",
    )
    figure.tight_layout()
    return figure


def _server_lines(ax: Axes, line: list[Row], tint: str, server: str) -> None:
    fair = [r for r in line if not r.driver_bound]
    for name, style, label in (("p99_ms", "-", server), ("p50_ms", "--", None)):
        xs, ys, bars = points(fair, name)
        if xs:
            ax.errorbar(
                xs,
                ys,
                yerr=bars,
                fmt=style,
                marker="o",
                markersize=4,
                color=tint,
                label=label,
                capsize=2,
                linewidth=1.2,
            )
        xs, ys, _ = points([r for r in line if r.driver_bound], name)
        if xs:
            ax.plot(xs, ys, "o", markerfacecolor="none", color=tint)


def _slo_line(ax: Axes, rows: list[Row]) -> None:
    text = next((r.slo for r in rows if r.slo), None)
    if not text:
        return
    for condition in parse_slo(text).conditions:
        if condition.metric in ("p99", "p50", "p90", "p999") and condition.op in ("<", "<="):
            ax.axhline(condition.value, color="black", linestyle=":", linewidth=1)
            ax.text(
                ax.get_xlim()[0], condition.value, f" SLO {condition.text}", fontsize=7, va="bottom"
            )
