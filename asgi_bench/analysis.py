"""Turn a cell's raw driver output into client-side numbers over the measured window.

* Counts come from Locust's JSON (final, unlike the CSV), from its per-second counters, so
  the warm-up is cut out exactly.
* Latency comes from the recorder's HDR histograms (microsecond resolution), merged across
  Locust processes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from asgi_bench.errors import DriverError
from asgi_bench.loadtests import COUNTED_TYPES, HIGHEST_US, LOWEST_US

PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p99_ms": 99.0, "p999_ms": 99.9}


@dataclass(frozen=True)
class Window:
    """The measured window, in whole unix seconds: ``[start, end)``."""

    start: int
    end: int

    @property
    def seconds(self) -> int:
        return max(0, self.end - self.start)


@dataclass
class ClientStats:
    window: Window
    test_start: float
    requests: int  # counted requests completed in the window
    total_requests: int  # counted requests over the whole run, warm-up included
    errors: int  # failed events in the window, any entry
    errors_by_kind: dict[str, int]
    latency_ms: dict[str, float]  # p50_ms ... p999_ms, max_ms
    entries_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    series: list[dict[str, float]] = field(default_factory=list)
    histogram: str = ""  # HDR histogram of counted requests in the window, base64

    @property
    def rps(self) -> float:
        return self.requests / self.window.seconds if self.window.seconds else 0.0


def percentiles_ms(hist: HdrHistogram) -> dict[str, float]:
    if hist.get_total_count() == 0:
        return {key: math.nan for key in [*PERCENTILES, "max_ms"]}
    values = {key: hist.get_value_at_percentile(p) / 1000 for key, p in PERCENTILES.items()}
    values["max_ms"] = hist.get_max_value() / 1000
    return values


def _merge(encoded: list[str], digits: int = 3) -> HdrHistogram:
    merged = HdrHistogram(LOWEST_US, HIGHEST_US, digits)
    for blob in encoded:
        merged.add(HdrHistogram.decode(blob.encode("ascii")))
    return merged


def load_client_stats(cell_dir: Path) -> ClientStats:
    try:
        entries: list[dict[str, Any]] = json.loads((cell_dir / "locust.json").read_text())
        records = [
            json.loads(path.read_text())
            for path in sorted((cell_dir / "driver").glob("hdr-*.json"))
        ]
    except (OSError, ValueError) as exc:
        raise DriverError(f"unreadable driver output in {cell_dir}: {exc}") from exc
    timed = [r for r in records if r.get("measure_from") and r.get("test_stop")]
    if not timed:
        raise DriverError(f"the driver recorded no test start/stop in {cell_dir}")
    leader = next((r for r in timed if r["role"] in ("master", "local")), timed[0])
    window = Window(math.ceil(leader["measure_from"]), math.floor(leader["test_stop"]))

    requests = total = errors = 0
    for entry in entries:
        per_second = entry.get("num_reqs_per_sec", {})
        in_window = sum(n for t, n in per_second.items() if window.start <= int(t) < window.end)
        errors += sum(
            n
            for t, n in entry.get("num_fail_per_sec", {}).items()
            if window.start <= int(t) < window.end
        )
        if entry["method"] in COUNTED_TYPES:
            requests += in_window
            total += entry["num_requests"]

    errors_by_kind: dict[str, int] = {}
    for record in records:
        for kind, n in record["window_errors"].items():
            errors_by_kind[kind] = errors_by_kind.get(kind, 0) + n

    main = _merge([r["main"] for r in records])
    entry_names = sorted({name for r in records for name in r["entries"]})
    entries_ms = {
        name: percentiles_ms(_merge([r["entries"][name] for r in records if name in r["entries"]]))
        for name in entry_names
    }
    seconds = sorted({int(sec) for r in records for sec in r["series"]})
    series = []
    for sec in seconds:
        hist = _merge([r["series"][str(sec)] for r in records if str(sec) in r["series"]], 2)
        series.append(
            {
                "t": sec - leader["test_start"],
                "count": hist.get_total_count(),
                "p50_ms": hist.get_value_at_percentile(50) / 1000,
                "p99_ms": hist.get_value_at_percentile(99) / 1000,
            }
        )
    return ClientStats(
        window=window,
        test_start=leader["test_start"],
        requests=requests,
        total_requests=total,
        errors=errors,
        errors_by_kind=errors_by_kind,
        latency_ms=percentiles_ms(main),
        entries_ms=entries_ms,
        series=series,
        histogram=main.encode().decode("ascii"),
    )
