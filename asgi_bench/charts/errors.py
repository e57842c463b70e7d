"""Errors per cell in the measured window, split by kind, with each cell's status."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from asgi_bench.results import CellResult

KINDS = (
    ("non_2xx", "non-2xx", "#d62728"),
    ("wrong_body", "wrong body", "#ff7f0e"),
    ("exceptions", "exceptions", "#9467bd"),
)


def draw(cells: list[CellResult], run_dir: Path) -> Figure | None:
    if not cells:
        return None
    figure, ax = plt.subplots(figsize=(10, 0.32 * len(cells) + 1.4))
    labels = [f"{c.server} / {c.app}" for c in cells]
    y = list(range(len(cells)))
    left = [0.0] * len(cells)
    for field, label, tint in KINDS:
        values = [float(getattr(c, field)) for c in cells]
        ax.barh(y, values, left=left, color=tint, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    peak = max(left) or 1.0
    for i, cell in enumerate(cells):
        total = int(left[i])
        note = f"{total:,} ({cell.errors / cell.requests:.1%})" if cell.requests else ""
        if cell.status != "ok":
            note = f"{note}  {cell.status.upper()}".strip()
        ax.text(
            left[i] + peak * 0.01,
            i,
            note or "0",
            va="center",
            fontsize=7,
            color="#d62728" if cell.status == "failed" else "black",
        )
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, peak * 1.35)
    ax.set_xlabel("failed requests in the measured window")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    total = sum(c.errors for c in cells)
    title = "Errors per cell" + ("" if total else ": none in any cell")
    ax.set_title(title, fontsize=13, fontweight="bold")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure
