"""Latency percentiles per app: client p50/p90/p99/p99.9 bars per server (p99.9 only from
windows that held enough samples for it), log scale, with
the middleware's time inside the app (p50, p99) as black markers. Driver-bound rows are
hatched: under a saturated driver, latency is the driver's queue as much as the server's."""

from __future__ import annotations

from matplotlib.figure import Figure

from asgi_bench.report.charts._style import (
    apps_of,
    bar_error,
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
from asgi_bench.verdict.stats import min_samples

CLIENT = (
    ("p50_ms", "p50", 0.35),
    ("p90_ms", "p90", 0.55),
    ("p99_ms", "p99", 0.75),
    ("p999_ms", f"p99.9 (windows of ≥{min_samples(99.9):,} samples)", 0.95),
)


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    rows = headline(rows)
    if not rows:
        return None
    servers, apps = servers_of(rows), apps_of(rows)
    figure, axes = panels(len(apps), "Latency percentiles (ms, log scale)", width=5.6)
    width = 0.8 / len(CLIENT)
    for ax, app in zip(axes, apps, strict=True):
        row_of = {r.server: r for r in rows if r.app == app}
        for x, server in enumerate(servers):
            row = row_of.get(server)
            if row is None:
                continue
            if row.status != "ok":
                status_mark(ax, x, row)
                continue
            for i, (name, _, alpha) in enumerate(CLIENT):
                value = row.get(name)
                if row.too_few_samples(name):
                    continue  # a 3 s window at 400 req/s has no p99.9 to show
                if finite(value) and value and value > 0:
                    ax.bar(
                        x - 0.4 + width * (i + 0.5),
                        value,
                        width,
                        color="#1f77b4",
                        alpha=alpha,
                        hatch=hatch(row),
                        edgecolor="black" if row.driver_bound else None,
                        linewidth=0.3,
                        yerr=bar_error(row, name),
                        capsize=2,
                    )
            for name, marker in (("app_p50_ms", "o"), ("app_p99_ms", "D")):
                value = row.get(name)
                if finite(value) and value and value > 0:
                    ax.plot(x, value, marker, color="black", markersize=4)
        plain_log_axis(ax)
        title = {r.step for r in row_of.values()}
        ax.set_title(f"{app} ({', '.join(sorted(title))})", fontsize=10)
        ax.set_xticks(range(len(servers)), servers, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("ms")
        ax.grid(axis="y", alpha=0.3, which="both")
    _legend(figure, rows)
    figure.tight_layout()
    return figure


def _legend(figure: Figure, rows: list[Row]) -> None:
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [
        Patch(color="#1f77b4", alpha=alpha, label=f"client {label}") for _, label, alpha in CLIENT
    ]
    handles += [
        Line2D([], [], marker="o", color="black", linestyle="", label="in-app p50"),
        Line2D([], [], marker="D", color="black", linestyle="", label="in-app p99"),
    ]
    legend_below(figure, handles, ncol=6, drop=0.06, rows=rows)
