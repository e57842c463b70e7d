"""Streamed responses in three parts, per server: time to the headers (TTFB), to the first
chunk or event, and to the end of the body, p50 with p99 as a whisker. Only for workloads
that stream (``streaming``, ``sse``)."""

from __future__ import annotations

from matplotlib.figure import Figure

from asgi_bench.report.charts._style import (
    apps_of,
    finite,
    hatch,
    headline,
    legend_below,
    panels,
    plain_log_axis,
    servers_of,
    status_mark,
)
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row

PARTS = (
    ("ttfb_p50_ms", "ttfb_p99_ms", "headers (TTFB)", "#9ecae1"),
    ("first_p50_ms", "first_p99_ms", "first chunk / event", "#4292c6"),
    ("p50_ms", "p99_ms", "full body", "#08519c"),
)


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    rows = [r for r in headline(rows) if r.get("ttfb_p50_ms") is not None or r.status != "ok"]
    streamed = [r for r in rows if r.get("first_p50_ms") is not None]
    if not streamed:
        return None
    rows = [r for r in rows if r.app in {s.app for s in streamed}]
    servers, apps = servers_of(rows), apps_of(rows)
    figure, axes = panels(len(apps), "Streamed responses: p50 (bar) and p99 (whisker), ms")
    width = 0.8 / len(PARTS)
    for ax, app in zip(axes, apps, strict=True):
        row_of = {r.server: r for r in rows if r.app == app}
        for x, server in enumerate(servers):
            row = row_of.get(server)
            if row is None:
                continue
            if row.status != "ok":
                status_mark(ax, x, row)
                continue
            for i, (p50, p99, _, tint) in enumerate(PARTS):
                mid, high = row.get(p50), row.get(p99)
                if not (finite(mid) and mid and mid > 0):
                    continue
                position = x - 0.4 + width * (i + 0.5)
                ax.bar(
                    position,
                    mid,
                    width,
                    color=tint,
                    hatch=hatch(row),
                    edgecolor="black",
                    linewidth=0.3,
                )
                if finite(high) and high and high > mid:
                    ax.vlines(position, mid, high, color="black", linewidth=0.8)
        plain_log_axis(ax)
        ax.set_title(app)
        ax.set_xticks(range(len(servers)), servers, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("ms")
        ax.grid(axis="y", alpha=0.3, which="both")
    from matplotlib.patches import Patch

    parts = [Patch(color=tint, label=label) for _, _, label, tint in PARTS]
    legend_below(figure, parts, ncol=3, rows=rows)
    figure.tight_layout()
    return figure
