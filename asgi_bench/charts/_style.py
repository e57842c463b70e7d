"""What every chart shares: one colour per server, a grid of one panel per app."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from asgi_bench.results import CellResult

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def servers_of(cells: list[CellResult]) -> list[str]:
    return ordered([c.server for c in cells])


def apps_of(cells: list[CellResult]) -> list[str]:
    return ordered([c.app for c in cells])


def color(servers: list[str], server: str) -> str:
    return PALETTE[servers.index(server) % len(PALETTE)]


def panels(
    count: int, title: str, width: float = 5.0, height: float = 3.6
) -> tuple[Figure, list[Axes]]:
    """A figure with ``count`` panels, two per row."""
    cols = min(2, max(1, count))
    rows = math.ceil(count / cols) if count else 1
    figure, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.flat)
    for extra in flat[count:]:
        extra.set_visible(False)
    figure.suptitle(title, fontsize=13, fontweight="bold")
    return figure, flat[:count]


def status_mark(ax: Axes, x: float, cell: CellResult) -> None:
    """Label a missing bar: failed cells in red, unsupported in grey."""
    text, tint = ("failed", "#d62728") if cell.status == "failed" else ("n/a", "#7f7f7f")
    # x in data units, y in axes units: visible on linear and log scales alike.
    ax.text(
        x,
        0.03,
        text,
        rotation=90,
        ha="center",
        va="bottom",
        color=tint,
        fontsize=9,
        transform=ax.get_xaxis_transform(),
    )


def plain_log_axis(ax: Axes) -> None:
    """Log scale with tick labels such as 0.5, 2, 40 instead of 5x10^-1."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))


def finite(value: float | None) -> bool:
    return value is not None and not math.isnan(value)
