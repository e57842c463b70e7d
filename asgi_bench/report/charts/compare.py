"""The comparison chart of ``asgi-bench compare``: per row and figure, B relative to A with
its 95% interval. Green: better; red: worse; grey: not a significant change."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from asgi_bench.figures import FIGURES
from asgi_bench.verdict.comparison import Line


def draw_compare(lines: Sequence[Line]) -> Figure:
    labels = [f"{x.server} / {x.app} / {x.step}  {x.figure}" for x in lines]
    figure, ax = plt.subplots(figsize=(9, 0.3 * len(lines) + 1.5))
    for y, line in enumerate(lines):
        ratio, ci = line.change.ratio, line.change.ci95
        if ratio is None:
            continue
        better = (ratio > 1) == FIGURES[line.figure].higher_is_better
        tint = "#7f7f7f" if not line.change.significant else ("#2ca02c" if better else "#d62728")
        ax.plot((ratio - 1) * 100, y, "o", color=tint)
        if ci is not None:
            ax.hlines(y, (ci[0] - 1) * 100, (ci[1] - 1) * 100, color=tint, linewidth=2)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(lines)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("B relative to A, % (dot: median ratio; bar: 95% interval)")
    ax.set_title("B against A", fontsize=12, fontweight="bold")
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure
