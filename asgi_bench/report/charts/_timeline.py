"""What the charts over time share: each cell's first ok repeat's per-second series, on one
clock from its test's start, with the seconds outside the measured window shaded."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.axes import Axes

from asgi_bench.errors import ResultsError
from asgi_bench.report.charts._style import headline
from asgi_bench.results.layout import RunLayout, read_json
from asgi_bench.results.rows import Row


def first_repeats(rows: list[Row], layout: RunLayout) -> dict[str, dict[str, Any]]:
    """cell -> the client.json of its headline row's first repeat that wrote one."""
    found = {}
    for row in headline(rows):
        if row.status != "ok":
            continue
        for repeat in range(1, row.planned + 1):
            # --paired: the bare twin's, whose figures are the row's
            path = layout.repeat(row.server, row.app, row.step, repeat, row.paired).client_json
            try:
                found[row.cell] = read_json(path)
                break
            except ResultsError:
                continue
    return found


class Clock:
    """Seconds since the whole second the tests started in, for the series of one panel;
    what it has seen of their windows, for the shading."""

    def __init__(self) -> None:
        self.warm_end, self.window_end, self.last = 0.0, math.inf, 0.0

    def times(self, data: dict[str, Any], points: list[dict[str, Any]]) -> list[float]:
        # Points sit mid-second: each is one wall-clock second of completed requests.
        origin = math.floor(data["test_start"])
        t = [p["t"] + data["test_start"] - origin + 0.5 for p in points]
        self.warm_end = max(self.warm_end, data["window"][0] - origin)
        self.window_end = min(self.window_end, data["window"][1] - origin)
        self.last = max(self.last, t[-1] + 0.5 if t else 0.0)
        return t

    def shade(self, ax: Axes) -> None:
        """Before the window: the warm-up; after it: the driver stopping. Neither counts."""
        ax.axvspan(0, self.warm_end, color="#cccccc", alpha=0.4, linewidth=0)
        if self.window_end < self.last:
            ax.axvspan(self.window_end, self.last, color="#cccccc", alpha=0.4, linewidth=0)
