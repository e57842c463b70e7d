"""Failed requests per row in the measured window, split by kind, with each row's status.
Failures are never counted as requests: the share is failed / (succeeded + failed)."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from asgi_bench.results.layout import RunLayout
from asgi_bench.results.rows import Row

KINDS = (
    ("non_2xx", "non-2xx", "#d62728"),
    ("wrong_body", "wrong body", "#ff7f0e"),
    ("exceptions", "exceptions", "#9467bd"),
    ("unfinished", "unfinished (never answered)", "#8c564b"),
)


def draw(rows: list[Row], layout: RunLayout) -> Figure | None:
    if not rows:
        return None
    figure, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.4))
    labels = [f"{r.server} / {r.app} / {r.step}" for r in rows]
    y = list(range(len(rows)))
    left = [0.0] * len(rows)
    for name, label, tint in KINDS:
        values = [float(r.counts.get(name) or 0) for r in rows]
        ax.barh(y, values, left=left, color=tint, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    peak = max(left) or 1.0
    for i, row in enumerate(rows):
        failed, ok = int(left[i]), row.counts.get("requests") or 0
        note = f"{failed:,} ({failed / (failed + ok):.1%})" if failed + ok else ""
        if row.status != "ok":
            note = f"{note}  {row.status.upper()}".strip()
        ax.text(
            left[i] + peak * 0.01,
            i,
            note or "0",
            va="center",
            fontsize=7,
            color="#d62728" if row.status == "failed" else "black",
        )
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, peak * 1.35)
    ax.set_xlabel("failed requests in the measured windows")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    total = sum(left)
    title = "Failed requests per row" + ("" if total else ": none in any row")
    ax.set_title(title, fontsize=13, fontweight="bold")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure
