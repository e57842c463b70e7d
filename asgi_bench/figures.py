"""Every figure a summary row carries, once: its unit, its label, which way is better, and
how many samples one window needs to give it. The summary (which figures get a median),
the report's tables (labels, shares), ``compare`` (direction) and the SLO parser (units)
all read this table; a new figure is one line here and its field in
:class:`asgi_bench.results.repeat.Repeat`.

Example::

    FIGURES["p99_ms"].label          # "p99 ms"
    FIGURES["rps"].higher_is_better  # True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["req/s", "ms", "us", "share", "MiB"]


@dataclass(frozen=True)
class Figure:
    name: str  # the row's field, its unit in its name
    unit: Unit
    label: str  # a column's head in the report
    higher_is_better: bool | None  # None: neither way is better (a share, a rate asked for)
    tail: float | Literal["max"] | None = None  # a percentile one window may be too short for
    middleware: bool = False  # only the middleware gives it: --paired takes it from its twins


_TABLE = (
    Figure("rps", "req/s", "req/s", True),
    Figure("p50_ms", "ms", "p50 ms", False),
    Figure("p90_ms", "ms", "p90 ms", False),
    Figure("p99_ms", "ms", "p99 ms", False),
    Figure("p999_ms", "ms", "p99.9 ms", False, tail=99.9),
    Figure("max_ms", "ms", "max ms", False, tail="max"),
    Figure("ttfb_p50_ms", "ms", "TTFB p50", False),
    Figure("ttfb_p99_ms", "ms", "TTFB p99", False),
    Figure("first_p50_ms", "ms", "first chunk p50", False),
    Figure("first_p99_ms", "ms", "first chunk p99", False),
    Figure("achieved_rps", "req/s", "sent req/s", None),
    Figure("p90_uncorrected_ms", "ms", "p90 uncorrected", False),
    Figure("p99_uncorrected_ms", "ms", "p99 uncorrected", False),
    Figure("lag_p99_ms", "ms", "driver lag p99", False),
    Figure("cpu_us_per_request", "us", "CPU µs/req", False),
    Figure("server_busy", "share", "server busy", None),
    Figure("peak_rss_mib", "MiB", "peak MiB", False),
    Figure("driver_busy", "share", "driver busy", None),
    Figure("interference", "share", "interference", False),
    Figure("app_p50_ms", "ms", "in-app p50", False, middleware=True),
    Figure("app_p90_ms", "ms", "in-app p90", False, middleware=True),
    Figure("app_p99_ms", "ms", "in-app p99", False, middleware=True),
    Figure("app_ttfb_p50_ms", "ms", "in-app TTFB p50", False, middleware=True),
    Figure("app_own_p50_ms", "ms", "app's own p50", False, middleware=True),
    Figure("in_server_p50_ms", "ms", "in send/receive p50", False, middleware=True),
)
FIGURES: dict[str, Figure] = {f.name: f for f in _TABLE}
