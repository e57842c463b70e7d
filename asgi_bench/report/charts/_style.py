"""What every chart shares: one colour per server, a grid of panels, the bound marks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from asgi_bench.results.rows import Row

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
BOUND_NOTE = "hatched, ≥: Locust was ≥90% busy; the server may be faster (a lower bound)"


def ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def servers_of(rows: list[Row]) -> list[str]:
    return ordered([r.server for r in rows])


def apps_of(rows: list[Row]) -> list[str]:
    return ordered([r.app for r in rows])


def headline(rows: list[Row]) -> list[Row]:
    """One row per cell for the bar charts: its closed-loop step if it has one, else its
    highest offered rate."""
    best: dict[str, Row] = {}
    for row in rows:
        current = best.get(row.cell)
        if current is None or _rank(row) > _rank(current):
            best[row.cell] = row
    return list(best.values())


def _rank(row: Row) -> tuple[int, float]:
    return (1 if row.load == "closed" else 0, row.offered_rps or 0.0)


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


def status_mark(ax: Axes, x: float, row: Row) -> None:
    """Label a missing bar: failed rows in red, unsupported in grey."""
    text, tint = ("failed", "#d62728") if row.status == "failed" else ("n/a", "#7f7f7f")
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


def hatch(row: Row) -> str | None:
    return "//" if row.driver_bound else None


def bound_note(figure: Figure, rows: list[Row]) -> None:
    if any(r.driver_bound for r in rows):
        figure.text(0.5, -0.02, BOUND_NOTE, ha="center", fontsize=9, style="italic")


def legend_below(
    figure: Figure,
    handles: Sequence[Artist],
    ncol: int,
    drop: float = 0.05,
    rows: Sequence[Row] = (),
    **extra: Any,
) -> None:
    """One legend for the whole figure, centred ``drop`` below its panels; each handle's own
    label names it (an axis's: ``ax.get_legend_handles_labels()[0]``). Where any of ``rows``
    is driver-bound, the hatched bars' note is the legend's title: a caption of its own
    would sit at the legend's height, under it."""
    if any(r.driver_bound for r in rows):
        extra.update(title=BOUND_NOTE, title_fontproperties={"size": 9, "style": "italic"})
        drop += 0.06  # the title's line, clear of the axis labels
    figure.legend(
        handles=handles,
        loc="lower center",
        ncol=max(1, ncol),
        fontsize=8,
        bbox_to_anchor=(0.5, -drop),
        **extra,
    )


def plain_log_axis(ax: Axes) -> None:
    """Log scale with tick labels such as 0.5, 2, 40 instead of 5x10^-1. Only powers of ten
    are labelled, unless fewer than two are in view (SSE's 45-80 ms holds none): then the
    ticks at 2 and 5 times one are too, or every tick where the axis spans under fivefold
    (more would overlap on a panel's height)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: _minor_label(ax, value)))


def _minor_label(ax: Axes, value: float) -> str:
    # Called at drawing time, once the limits are known.
    low, high = ax.get_ylim()
    if low <= 0 or value <= 0:
        return ""
    powers_in_view = math.floor(math.log10(high)) - math.ceil(math.log10(low)) + 1
    leading = round(value / 10 ** math.floor(math.log10(value)))
    if powers_in_view >= 2 or (high >= 5 * low and leading not in (2, 5)):
        return ""
    return f"{value:g}"


def finite(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def points(rows: list[Row], name: str) -> tuple[list[float], list[float], list[list[float]]]:
    """(offered rates, values, [below, above]) of ``name`` for the rows that have it: what
    ``errorbar`` draws, the bars being each row's 95% interval (none with one repeat)."""
    xs: list[float] = []
    ys: list[float] = []
    below: list[float] = []
    above: list[float] = []
    for row in rows:
        value = row.get(name)
        if value is None or not row.offered_rps:
            continue
        ci = row.ci95.get(name)
        xs.append(row.offered_rps)
        ys.append(value)
        below.append(max(0.0, value - ci[0]) if ci else 0.0)
        above.append(max(0.0, ci[1] - value) if ci else 0.0)
    return xs, ys, [below, above]


def bar_error(row: Row, name: str) -> list[list[float]] | None:
    """The 95% interval of ``name`` as ``bar``'s ``yerr``; None with a single repeat."""
    value, ci = row.get(name), row.ci95.get(name)
    if value is None or not ci:
        return None
    return [[max(0.0, value - ci[0])], [max(0.0, ci[1] - value)]]


def noisy_mark(ax: Axes, x: float, y: float, row: Row) -> None:
    if row.noisy:
        ax.text(x, y, "noisy", ha="center", va="bottom", fontsize=7, color="#d62728")
