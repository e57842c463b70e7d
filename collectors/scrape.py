"""Read the middleware's ``/metrics`` at a window's edges, keep the raw text, and compute
server-side numbers over the window from histogram deltas.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from asgi_bench.http import get


@dataclass
class Snapshot:
    t: float  # the middle of the read
    span: float = 0.0  # how long the read took: the counters' moment is somewhere inside it
    requests: float = 0.0
    ws_messages_in: float = 0.0
    in_progress: float = 0.0
    lifespan_failed: float = 0.0  # lifespan phases that failed or raised
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
            elif (
                name == "asgi_lifespan_events_total" and sample.labels.get("outcome") != "complete"
            ):
                snap.lifespan_failed += value
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


class EdgeReader:
    """Read the server's counters at chosen moments: before the load, at the window's two
    edges, and until it has drained. Nothing is read during the window, so the harness adds
    no rendering work to the server while it is measured. Raw replies are kept in memory
    (``raw``) and written with the repeat."""

    def __init__(self, url: str, route_prefix: str = "") -> None:
        self.url = url
        self.route_prefix = route_prefix
        self.raw: list[dict[str, object]] = []
        self.failures: list[str] = []

    def read(self) -> Snapshot | None:
        before = time.time()
        try:
            reply = get(self.url, timeout=5.0)
        except OSError as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")
            return None
        after = time.time()
        t = (before + after) / 2
        text = reply.body.decode("utf-8", "replace")
        self.raw.append({"t": t, "span": after - before, "status": reply.status, "text": text})
        if reply.status != 200:
            self.failures.append(f"HTTP {reply.status}")
            return None
        snapshot = parse(text, t, self.route_prefix)
        snapshot.span = after - before
        return snapshot

    def read_at(self, t: float) -> Snapshot | None:
        delay = t - time.time()
        if delay > 0:
            time.sleep(delay)
        return self.read()

    def drained(self, timeout: float = 5.0) -> Snapshot | None:
        """Read until nothing is in progress and the counts stop moving."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            snap = self.read()
            if (
                snap is not None
                and snap.in_progress <= 0
                and previous is not None
                and (snap.requests, snap.ws_messages_in)
                == (previous.requests, previous.ws_messages_in)
            ):
                return snap
            previous = snap or previous
            if time.monotonic() > deadline:
                return previous
            time.sleep(0.1)
