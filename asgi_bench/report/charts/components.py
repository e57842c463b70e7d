"""Where a request's CPU goes (``--profile``): per app, one stacked bar per server at the
same offered load, µs per request by component (HTTP protocol, event loop, ASGI glue, the
app, the middleware, ...), and, in grey, what the profile did not see: the server's CPU per
request less what its samples account for (work outside the GIL: the kernel's side of I/O
beyond the syscall, granian's Rust threads)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from asgi_bench.report.charts._style import legend_below
from asgi_bench.report.profiles import NOT_SAMPLED, comparable, component_us
from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row
from asgi_bench.verdict.profile import COMPONENTS

PALETTE = {
    "protocol": "#1f77b4",
    "loop": "#ff7f0e",
    "glue": "#9467bd",
    "app": "#2ca02c",
    "middleware": "#d62728",
    "stdlib": "#8c564b",
    "kernel": "#e377c2",
    "native": "#bcbd22",
    "unattributed": "#7f7f7f",
    NOT_SAMPLED: "#dddddd",
}


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    groups = comparable(rows)
    if not groups:
        return None
    labels = dict(COMPONENTS)
    labels[NOT_SAMPLED] = "not sampled (outside the GIL)"
    height = 1.2 + sum(0.45 * len(mine) + 0.9 for mine in groups.values())
    figure, axes = plt.subplots(len(groups), 1, figsize=(11, height), squeeze=False)
    figure.suptitle("Where a request's CPU goes (µs per request)", fontsize=13, fontweight="bold")
    shown: dict[str, object] = {}
    for ax, ((app, rate), mine) in zip(axes[:, 0], groups.items(), strict=True):
        names = [r.server for r in mine]
        for y, row in enumerate(mine):
            left = 0.0
            for component, us in component_us(row):
                if us <= 0:
                    continue
                bar = ax.barh(y, us, left=left, color=PALETTE.get(component, "#333"))
                shown.setdefault(component, bar)
                left += us
            ax.text(left, y, f" {left:.0f}", va="center", fontsize=7)
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_title(f"{app} at {rate:,.0f} req/s offered", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.12)
    order = [c for c in (*labels,) if c in shown]
    legend_below(
        figure,
        [shown[c] for c in order],  # type: ignore[misc]
        ncol=min(5, len(order)),
        drop=0.75 / height,  # below the tick labels, whatever the number of panels
        labels=[labels[c] for c in order],
    )
    figure.tight_layout()
    return figure
