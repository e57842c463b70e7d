"""Values on hover in a chart's SVG: every labelled line and every bar gets a ``<title>``
(the tooltip a browser shows over it) with what it draws, e.g. ``uvicorn: 300 → 0.23,
1,200 → 0.41`` or ``granian: 12,687``. :func:`mark` names the artists before the figure is
saved; :func:`titled` writes the titles into the saved SVG's groups of those names."""

from __future__ import annotations

import re
from html import escape

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

MAX_POINTS = 12


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def mark(figure: Figure) -> dict[str, str]:
    """Give each labelled line and each bar an SVG id; returns id -> its tooltip."""
    titles: dict[str, str] = {}
    for ax in figure.axes:
        # An errorbar's data line is unlabelled: its container holds the label.
        labels = {
            id(c.lines[0]): str(c.get_label())
            for c in ax.containers
            if isinstance(c, ErrorbarContainer)
        }
        for line in ax.get_lines():
            label = labels.get(id(line), str(line.get_label()))
            if label.startswith("_"):  # matplotlib's own unlabelled lines
                continue
            xs = np.asarray(line.get_xdata(), dtype=float)
            ys = np.asarray(line.get_ydata(), dtype=float)
            pairs = [f"{_number(x)} → {_number(y)}" for x, y in zip(xs, ys, strict=False)]
            more = f" … ({len(pairs)} points)" if len(pairs) > MAX_POINTS else ""
            titles[_name(line, titles)] = f"{label}: {', '.join(pairs[:MAX_POINTS])}{more}"
        figure.canvas.draw()  # the tick labels are known once drawn
        for container in ax.containers:
            if not isinstance(container, BarContainer):
                continue
            label = str(container.get_label())
            for bar in container.patches:
                across = bar.get_width() > bar.get_height()  # a horizontal bar
                value = bar.get_width() if across else bar.get_height()
                centre = (
                    bar.get_y() + bar.get_height() / 2
                    if across
                    else bar.get_x() + bar.get_width() / 2
                )
                names = [_tick(ax, centre, across)] + ([] if label.startswith("_") else [label])
                who = ", ".join(n for n in names if n)
                titles[_name(bar, titles)] = f"{who}: {_number(value)}" if who else _number(value)
    return titles


def _tick(ax: Axes, at: float, vertical_axis: bool) -> str:
    """The category label of the tick nearest ``at`` (a bar's centre), or ""."""
    ticks = ax.get_yticks() if vertical_axis else ax.get_xticks()
    labels = ax.get_yticklabels() if vertical_axis else ax.get_xticklabels()
    if not len(ticks) or len(labels) != len(ticks):
        return ""
    nearest = min(range(len(ticks)), key=lambda i: abs(ticks[i] - at))
    return str(labels[nearest].get_text()).replace("\n", " ")


def _name(artist: Artist, titles: dict[str, str]) -> str:
    gid = f"hover-{len(titles)}"
    artist.set_gid(gid)
    return gid


def titled(svg: str, titles: dict[str, str]) -> str:
    """``svg`` with each named group's tooltip as its first child.

    >>> titled('<g id="hover-0">\\n <path/></g>', {"hover-0": "uvicorn: 1 → 2"})
    '<g id="hover-0"><title>uvicorn: 1 → 2</title>\\n <path/></g>'
    """

    def add(match: re.Match[str]) -> str:
        text = titles.get(match.group(1))
        return match.group(0) + (f"<title>{escape(text)}</title>" if text else "")

    return re.sub(r'<g id="(hover-\d+)">', add, svg)
