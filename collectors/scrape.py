"""Scrape the middleware's ``/metrics`` during a cell, keep the raw text, and compute
server-side numbers over a window from histogram deltas.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from prometheus_client.parser import text_string_to_metric_families

from asgi_bench.http import get


@dataclass
class Snapshot:
    t: float
    requests: float = 0.0
    ws_messages_in: float = 0.0
    in_progress: float = 0.0
    duration: dict[float, float] = field(default_factory=dict)  # le -> cumulative count
    ttfb: dict[float, float] = field(default_factory=dict)


def parse(text: str, t: float, route_prefix: str = "") -> Snapshot:
    """Sum every series of the families we use, across all label sets. Series with a route
    label count only when it starts with ``route_prefix`` (one app's mount when several
    apps share a server); series without one (requests in progress) always count."""
    snap = Snapshot(t)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, value = sample.name, sample.value
            route = sample.labels.get("route")
            if route is not None and not route.startswith(route_prefix):
                continue
            if name == "asgi_requests_total":
                snap.requests += value
            elif name == "asgi_requests_in_progress":
                snap.in_progress += value
            elif name == "asgi_websocket_messages_total" and sample.labels.get("direction") == "in":
                snap.ws_messages_in += value
            elif name.endswith("_bucket") and family.name in _HISTOGRAMS:
                buckets = getattr(snap, _HISTOGRAMS[family.name])
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + value
    return snap


_HISTOGRAMS = {
    "asgi_request_duration_seconds": "duration",
    "asgi_time_to_first_byte_seconds": "ttfb",
}


def quantile(q: float, start: dict[float, float], end: dict[float, float]) -> float:
    """Like PromQL's ``histogram_quantile`` over the increase from ``start`` to ``end``."""
    bounds = sorted(end)
    counts = [end[b] - start.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return math.nan
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                return lower
            share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, cumulative
    return lower


class Scraper:
    """Scrape ``url`` every ``interval`` s in a thread; every raw scrape goes to ``out``."""

    def __init__(self, url: str, out: Path, interval: float = 1.0, route_prefix: str = "") -> None:
        self.url = url
        self.route_prefix = route_prefix
        self.interval = interval
        self.snapshots: list[Snapshot] = []
        self.failures = 0
        self._out: IO[str] = out.open("w")
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)

    def start(self) -> Scraper:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.scrape()

    def scrape(self) -> Snapshot | None:
        t = time.time()
        try:
            reply = get(self.url, timeout=5.0)
        except OSError:
            self.failures += 1
            return None
        text = reply.body.decode("utf-8", "replace")
        with self._lock:
            if self._out.closed:
                return None
            self._out.write(json.dumps({"t": t, "status": reply.status, "text": text}) + "\n")
        if reply.status != 200:
            self.failures += 1
            return None
        snap = parse(text, t, self.route_prefix)
        with self._lock:
            self.snapshots.append(snap)
        return snap

    def drained(self, timeout: float = 5.0) -> Snapshot | None:
        """Scrape until nothing is in progress and the counts stop moving."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            snap = self.scrape()
            if (
                snap is not None
                and snap.in_progress <= 0
                and previous is not None
                and (
                    (snap.requests, snap.ws_messages_in)
                    == (previous.requests, previous.ws_messages_in)
                )
            ):
                return snap
            previous = snap or previous
            if time.monotonic() > deadline:
                return previous
            time.sleep(0.1)

    def at(self, t: float) -> Snapshot | None:
        """The first snapshot taken at or after ``t`` (else the last one)."""
        with self._lock:
            later = [s for s in self.snapshots if s.t >= t]
            return later[0] if later else (self.snapshots[-1] if self.snapshots else None)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:
            self._out.close()
