"""Client-side numbers over one measured window, from the driver's raw output.

* The window ``[start, end)`` is the recorder's (whole unix seconds, decided by the leader).
* Latency and counts come from the recorder's HDR histograms (µs resolution), merged over
  every Locust process. Only successful requests are timed and counted as requests; failures
  are counted by kind beside them, from the same window.
* Locust's own counters (its final JSON) are kept to reconcile with the recorder's.
* Each Locust process says how much CPU it used inside the window: ``driver_busy`` is the
  busiest one, since one saturated process limits the load however idle the others are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from asgi_bench.errors import DriverError, ResultsError
from asgi_bench.loadtests import COUNTED_TYPES, HIGHEST_US, LOWEST_US
from asgi_bench.results.layout import RepeatLayout, read_json

PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p99_ms": 99.0, "p999_ms": 99.9}
FAILURE_KINDS = ("non_2xx", "wrong_body", "exceptions", "unfinished")


@dataclass(frozen=True)
class Window:
    """The measured window, ``[start, end)`` in unix seconds."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)

    def __contains__(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class DriverProcess:
    id: str
    role: str  # local, master or worker
    host: str
    busy: float | None  # CPU seconds in the window / window seconds


@dataclass
class ClientStats:
    window: Window
    test_start: float
    requests: int  # successful counted requests completed in the window
    failures: dict[str, int]  # failed counted requests in the window, by kind
    latency_ms: dict[str, float | None]  # p50_ms ... p999_ms, max_ms, of the successes
    samples: int
    counted_window: int  # recorder: successes + failures in the window
    completed_window: int  # recorder: ... that completed inside it (open model: may differ)
    counted_total: int  # recorder: every counted request of the run, warm-up included
    locust_total: int  # Locust's own count of the same
    locust_window: int  # Locust's per-second counters over the window
    processes: list[DriverProcess]
    missing_workers: list[str] = field(default_factory=list)
    failures_total: dict[str, int] = field(default_factory=dict)  # the whole run, by kind
    entries_ms: dict[str, dict[str, float | None]] = field(default_factory=dict)
    series: list[dict[str, float | None]] = field(default_factory=list)
    histogram: str = ""  # HDR histogram of the successes in the window, base64
    uncorrected_histogram: str = ""  # open model: the same from the actual send; "" if none
    # Open model: in the window, the arrivals the schedule held and the requests a connection
    # actually sent; arrivals dispatched late, dropped; latency from the actual send.
    sent_window: int = 0
    scheduled_window: int = 0
    late: int = 0
    dropped: int = 0
    uncorrected_ms: dict[str, float | None] = field(default_factory=dict)
    lag_ms: dict[str, float | None] = field(default_factory=dict)
    # A native tool (asgi_bench.run.native) counts only the answers it read before it
    # stopped, over its whole run: up to this many more may have reached the server, and
    # it says nothing of when each request completed.
    in_flight_at_stop: int = 0
    window_counted: bool = True
    tool: str | None = None  # the native tool and its version; None: Locust
    # The successes that completed inside the window: the throughput. None: not recorded
    # (a native tool, an older record), where ``requests`` stands for it.
    answered_window: int | None = None
    # The first few distinct failure messages of the run and how often each came: what a
    # failed cell's reason names. Empty: none failed, or a native tool's run.
    messages: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def rps(self) -> float | None:
        """Throughput: successes answered inside the window, per second.

        Not ``requests`` over the window: under the open model those are the window's
        arrivals, and a server that falls behind answers many of them after the window ends.
        """
        if not self.window.seconds:
            return None
        answered = self.requests if self.answered_window is None else self.answered_window
        return answered / self.window.seconds

    @property
    def driver_busy(self) -> float | None:
        """The busiest process that sends load (a master sends none)."""
        loaded = [p.busy for p in self.processes if p.role != "master"]
        if not loaded or any(b is None for b in loaded):
            return None
        return max(b for b in loaded if b is not None)


def percentiles_ms(hist: HdrHistogram) -> dict[str, float | None]:
    if hist.get_total_count() == 0:
        return {key: None for key in [*PERCENTILES, "max_ms"]}
    values: dict[str, float | None] = {
        key: hist.get_value_at_percentile(p) / 1000 for key, p in PERCENTILES.items()
    }
    values["max_ms"] = hist.get_max_value() / 1000
    return values


def merge(encoded: list[str], digits: int = 3) -> HdrHistogram:
    merged = HdrHistogram(LOWEST_US, HIGHEST_US, digits)
    for blob in encoded:
        merged.add(HdrHistogram.decode(blob.encode("ascii")))
    return merged


def load_client_stats(layout: RepeatLayout) -> ClientStats:
    try:
        record = read_json(layout.recorder_json)
        locust: list[dict[str, Any]] = read_json(layout.locust_json)
    except ResultsError as exc:
        raise DriverError(f"the driver's output is missing or unreadable: {exc}") from exc
    return client_stats(record, locust)


def client_stats(record: dict[str, Any], locust: list[dict[str, Any]]) -> ClientStats:
    """The numbers of one window from the recorder's data and Locust's final JSON."""
    if not record.get("window") or not record.get("test_start"):
        raise DriverError("the driver recorded no measured window (did the test start?)")
    window = Window(*record["window"])
    processes: list[dict[str, Any]] = record["processes"]
    failures = dict.fromkeys(FAILURE_KINDS, 0)
    failures_total = dict.fromkeys(FAILURE_KINDS, 0)
    for proc in processes:
        for kind, n in proc["window_errors"].items():
            failures[kind] = failures.get(kind, 0) + n
        for kind, n in proc["errors"].items():
            failures_total[kind] = failures_total.get(kind, 0) + n
        failures["unfinished"] += proc.get("unfinished", 0)
    ok = merge([p["ok"] for p in processes])
    uncorrected = merge([p["uncorrected"] for p in processes if "uncorrected" in p])
    names = sorted({name for p in processes for name in p["entries"]})
    entries = {
        name: percentiles_ms(merge([p["entries"][name] for p in processes if name in p["entries"]]))
        for name in names
    }
    locust_total = locust_window = 0
    for entry in locust:
        if entry["method"] in COUNTED_TYPES:
            locust_total += entry["num_requests"]
            locust_window += sum(
                n for t, n in entry.get("num_reqs_per_sec", {}).items() if float(t) in window
            )
    return ClientStats(
        window=window,
        test_start=record["test_start"],
        requests=ok.get_total_count(),
        failures=failures,
        latency_ms=percentiles_ms(ok),
        samples=ok.get_total_count(),
        counted_window=sum(p["counted_window"] for p in processes) + failures["unfinished"],
        completed_window=sum(p.get("completed_window", p["counted_window"]) for p in processes),
        answered_window=(
            sum(p["answered_window"] for p in processes)
            if all("answered_window" in p for p in processes)
            else None
        ),
        counted_total=sum(p["counted_total"] for p in processes),
        locust_total=locust_total,
        locust_window=locust_window,
        processes=[_driver_process(p, window) for p in processes],
        missing_workers=list(record.get("missing_workers", [])),
        failures_total=failures_total,
        entries_ms=entries,
        series=_series(processes, record["test_start"]),
        histogram=ok.encode().decode("ascii"),
        sent_window=sum(p.get("sent_window", 0) for p in processes),
        scheduled_window=sum(p.get("scheduled_window", 0) for p in processes),
        late=sum(p.get("late", 0) for p in processes),
        dropped=sum(p.get("dropped", 0) for p in processes),
        uncorrected_ms=percentiles_ms(uncorrected),
        uncorrected_histogram=(
            uncorrected.encode().decode("ascii") if uncorrected.get_total_count() else ""
        ),
        lag_ms=percentiles_ms(merge([p["lag"] for p in processes if "lag" in p])),
        messages=dict(sum((Counter(p.get("messages", {})) for p in processes), Counter())),
    )


def _driver_process(proc: dict[str, Any], window: Window) -> DriverProcess:
    first, last = proc.get("cpu_edges") or [None, None]
    busy = None
    if first is not None and last is not None and window.seconds:
        busy = (last - first) / window.seconds
    return DriverProcess(proc["id"], proc["role"], proc.get("host", ""), busy)


def _series(processes: list[dict[str, Any]], test_start: float) -> list[dict[str, float | None]]:
    seconds = sorted(
        {int(s) for p in processes for s in p["series"]}
        | {int(s) for p in processes for s in p.get("series_failed", {})}
    )
    series: list[dict[str, float | None]] = []
    for sec in seconds:
        hist = merge([p["series"][str(sec)] for p in processes if str(sec) in p["series"]], 2)
        count = hist.get_total_count()
        series.append(
            {
                "t": sec - test_start,
                "second": float(sec),
                "ok": count,
                "failed": sum(p.get("series_failed", {}).get(str(sec), 0) for p in processes),
                "p50_ms": hist.get_value_at_percentile(50) / 1000 if count else None,
                "p99_ms": hist.get_value_at_percentile(99) / 1000 if count else None,
            }
        )
    return series


def client_json(stats: ClientStats) -> dict[str, Any]:
    """What ``client.json`` keeps: the window's histograms (the open model's from the actual
    send too) and the per-second series."""
    return {
        "window": [stats.window.start, stats.window.end],
        "test_start": stats.test_start,
        "series": stats.series,
        "entries_ms": stats.entries_ms,
        "histogram_hdr_base64": stats.histogram,
        **(
            {"uncorrected_hdr_base64": stats.uncorrected_histogram}
            if stats.uncorrected_histogram
            else {}
        ),
        "processes": [p.__dict__ for p in stats.processes],
    }


def window_of(path: Path) -> Window | None:
    """The window the recorder published at test start, once it is there."""
    try:
        data = read_json(path)
    except ResultsError:
        return None
    return Window(*data["window"])
