"""Read the middleware's JSON state (``/metrics/state``) at chosen moments, and compute
server-side numbers over a window from two states.

Percentiles come from the store's fine histograms (64 sub-buckets per power of two): a value
is the middle of its bucket, within 0.8% of every value the bucket holds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from asgi_bench.collectors.store import bucket_range, quantile_bucket
from asgi_bench.system.http import get


@dataclass
class ServerState:
    """The server's counters at one moment, summed over the series of one app."""

    t: float  # the middle of the read
    span: float = 0.0  # how long the read took: the counters' moment is somewhere inside it
    requests: int = 0  # HTTP requests completed, any status
    ok_requests: int = 0  # ... with a 2xx or 3xx status
    ws_messages_in: int = 0
    in_progress: int = 0
    started: int | None = None  # HTTP requests started, server-wide (None: an older server)
    started_h2: int | None = None  # ... of them handed to the app as HTTP/2
    lifespan_failed: float = 0.0  # lifespan phases that failed or raised
    cpu_s: float | None = None  # CPU seconds of the server's worker processes
    host: str = ""
    middleware: str | None = None  # its build: mypyc or python (None: an older server)
    duration: dict[int, int] = field(default_factory=dict)  # ok requests, fine buckets
    ttfb: dict[int, int] = field(default_factory=dict)
    ws_echo: dict[int, int] = field(default_factory=dict)  # message in -> next message out
    # --profile (collectors/calls.py): ok requests' in-app time split into the app's own and
    # the time inside the server's send and receive
    app_own: dict[int, int] = field(default_factory=dict)
    in_server: dict[int, int] = field(default_factory=dict)


def parse_state(data: dict[str, Any], t: float, route_prefix: str = "") -> ServerState:
    """Sum the series whose route starts with ``route_prefix`` (one app's mount when several
    apps share a server); requests in progress are server-wide."""
    state = ServerState(
        t,
        in_progress=int(data.get("in_progress", 0)),
        started=data.get("started"),
        started_h2=data.get("started_h2"),
        lifespan_failed=float(data.get("lifespan_failed", 0)),
        cpu_s=data.get("cpu_s"),
        host=str(data.get("host", "")),
        middleware=data.get("middleware"),
    )
    for series in data.get("series", []):
        if not str(series["route"]).startswith(route_prefix):
            continue
        if series["method"] == "WS":
            state.ws_messages_in += series["count"]
            _add(state.ws_echo, series["hist_a"])
            continue
        if series["method"] == "ASGI":
            if 200 <= int(series["status"]) < 400:
                _add(state.app_own, series["hist_a"])
                _add(state.in_server, series["hist_b"])
            continue
        state.requests += series["count"]
        if 200 <= int(series["status"]) < 400:
            state.ok_requests += series["count"]
            _add(state.duration, series["hist_a"])
            _add(state.ttfb, series["hist_b"])
    return state


def _add(into: dict[int, int], sparse: dict[str, int]) -> None:
    for index, count in sparse.items():
        into[int(index)] = into.get(int(index), 0) + count


def quantile(q: float, start: dict[int, int], end: dict[int, int]) -> float | None:
    """The ``q`` quantile, in seconds, of what was recorded between two histograms: the
    middle of the bucket that holds it. None when nothing was recorded."""
    index = quantile_bucket(q, {i: end.get(i, 0) - start.get(i, 0) for i in end})
    if index is None:
        return None
    low, high = bucket_range(index)
    return (low + high) / 2 / 1e9


class StateReader:
    """Read the server's state at chosen moments: before the load, at the window's two
    edges, and until it has drained. Nothing is read during the window. Raw replies are kept
    in memory (``raw``) and written with the repeat; failed reads are listed in ``failures``."""

    def __init__(self, url: str, route_prefix: str = "") -> None:
        self.url = url
        self.route_prefix = route_prefix
        self.raw: list[dict[str, object]] = []
        self.failures: list[str] = []

    def read(self, since: float | None = None) -> ServerState | None:
        """Read now. ``since``: the moment the caller wanted the counters at (an edge); the
        read's span then starts there, so a late start is inside the tolerance too."""
        before = time.time() if since is None else min(since, time.time())
        try:
            reply = get(self.url, timeout=5.0)
        except OSError as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")
            return None
        after = time.time()
        t = (before + after) / 2
        try:
            data = json.loads(reply.body) if reply.status == 200 else None
        except ValueError:
            data = None
        self.raw.append({"t": t, "span": after - before, "status": reply.status, "state": data})
        if data is None:
            self.failures.append(f"HTTP {reply.status}" if reply.status != 200 else "not JSON")
            return None
        state = parse_state(data, t, self.route_prefix)
        state.span = after - before
        return state

    def read_at(self, t: float) -> ServerState | None:
        delay = t - time.time()
        if delay > 0:
            time.sleep(delay)
        return self.read(since=t)

    def drained(self, timeout: float = 5.0) -> ServerState | None:
        """Read until nothing is in progress and the counts stop moving."""
        deadline = time.monotonic() + timeout
        previous = None
        while True:
            state = self.read()
            if (
                state is not None
                and state.in_progress <= 0
                and previous is not None
                and (state.requests, state.ws_messages_in)
                == (previous.requests, previous.ws_messages_in)
            ):
                return state
            previous = state or previous
            if time.monotonic() > deadline:
                return previous
            time.sleep(0.05)
