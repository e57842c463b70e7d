"""Latency percentiles per app: client p50/p90/p99/p99.9 bars per server, log scale, with
the middleware's server-side p50 and p99 as black markers."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from asgi_bench.charts._style import (
    apps_of,
    finite,
    panels,
    plain_log_axis,
    servers_of,
    status_mark,
)
from asgi_bench.results import CellResult

CLIENT = (
    ("p50_ms", "p50", 0.35),
    ("p90_ms", "p90", 0.55),
    ("p99_ms", "p99", 0.75),
    ("p999_ms", "p99.9", 0.95),
)


def draw(cells: list[CellResult], run_dir: Path) -> Figure | None:
    if not cells:
        return None
    servers, apps = servers_of(cells), apps_of(cells)
    figure, axes = panels(len(apps), "Latency percentiles (ms, log scale)", width=5.6)
    width = 0.8 / len(CLIENT)
    for ax, app in zip(axes, apps, strict=True):
        row = {c.server: c for c in cells if c.app == app}
        for x, server in enumerate(servers):
            cell = row.get(server)
            if cell is None:
                continue
            if cell.status != "ok":
                status_mark(ax, x, cell)
                continue
            for i, (field, _, alpha) in enumerate(CLIENT):
                value = getattr(cell, field)
                if finite(value) and value > 0:
                    ax.bar(x - 0.4 + width * (i + 0.5), value, width, color="#1f77b4", alpha=alpha)
            for field, marker in (("server_p50_ms", "o"), ("server_p99_ms", "D")):
                value = getattr(cell, field)
                if finite(value) and value > 0:
                    ax.plot(x, value, marker, color="black", markersize=4)
        plain_log_axis(ax)
        ax.set_title(app)
        ax.set_xticks(range(len(servers)), servers, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("ms")
        ax.grid(axis="y", alpha=0.3, which="both")
    _legend(figure)
    figure.tight_layout()
    return figure


def _legend(figure: Figure) -> None:
    from matplotlib.artist import Artist
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Artist] = [
        Patch(color="#1f77b4", alpha=alpha, label=f"client {label}") for _, label, alpha in CLIENT
    ]
    handles += [
        Line2D([], [], marker="o", color="black", linestyle="", label="server p50"),
        Line2D([], [], marker="D", color="black", linestyle="", label="server p99"),
    ]
    figure.legend(
        handles=handles, loc="lower center", ncol=6, fontsize=8, bbox_to_anchor=(0.5, -0.04)
    )
