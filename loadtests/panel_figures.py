"""The web UI tab's figures, from readings taken once a second: the driver's recorder in
each Locust process, and the server's ``/metrics/state``. Every figure is a difference of two
readings of running totals, over the last 10 seconds or since the test started, so nothing
grows with the time the UI runs. No Locust import: the arithmetic and the web UI process's
view (:class:`Panel`) are tested on constructed readings.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asgi_bench.collectors.store import bucket_range, quantile_bucket
from asgi_bench.loadtests import split_host
from asgi_bench.run.state import ServerState, parse_state
from asgi_bench.system.http import get

RECENT_S = 10.0
PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999), ("max", 1.0))


@dataclass(frozen=True)
class Reading:
    """One Locust process's running totals since the UI started counting."""

    t: float  # unix time
    cpu_s: float  # the process's CPU seconds
    since: float = 0.0  # when its test started: the totals are from then
    counted: int = 0  # requests finished, ok or failed
    failed: int = 0
    late: int = 0  # open model: arrivals dispatched over 1 ms late
    dropped: int = 0  # open model: arrivals never sent (no free slot)
    ok: dict[int, int] = field(default_factory=dict)  # µs buckets: corrected for the open model
    uncorrected: dict[int, int] = field(default_factory=dict)  # open model: from the send

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__}

    @classmethod
    def zero(cls, since: float) -> Reading:
        """The totals at the test's start."""
        return cls(t=since, cpu_s=0.0, since=since)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reading:
        hists = {k: {int(i): n for i, n in data[k].items()} for k in ("ok", "uncorrected")}
        return cls(**{**data, **hists})


class History:
    """The first reading of one source and its last few seconds of them."""

    def __init__(self, keep_s: float = RECENT_S + 5) -> None:
        self.keep_s = keep_s
        self.first: Any = None
        self.recent: deque[Any] = deque()

    def add(self, reading: Any) -> None:
        if self.first is None:
            self.first = reading
        self.recent.append(reading)
        while self.recent and self.recent[0].t < reading.t - self.keep_s:
            self.recent.popleft()

    def pair(self, seconds: float | None) -> tuple[Any, Any] | None:
        """The readings that bound the last ``seconds`` (None: since the first), or None
        while there are not two of them."""
        if not self.recent:
            return None
        last = self.recent[-1]
        if seconds is None:
            first = self.first
        else:  # the oldest reading inside the span, half a second of slack for timers
            first = next(r for r in self.recent if r.t >= last.t - seconds - 0.5)
        return (first, last) if last.t > first.t else None


def _minus(end: dict[int, int], start: dict[int, int]) -> dict[int, int]:
    return {i: n - start.get(i, 0) for i, n in end.items()}


def percentiles_us(counts: dict[int, int]) -> dict[str, float | None]:
    """p50 ... max of µs bucket counts, each the middle of the bucket that holds it.

    >>> percentiles_us({100: 3, 120: 1})["p50"], percentiles_us({})["max"]
    (100.5, None)
    """
    out: dict[str, float | None] = {}
    for name, q in PERCENTILES:
        index = quantile_bucket(q, counts)
        out[name] = None if index is None else sum(bucket_range(index)) / 2
    return out


@dataclass
class ClientFigures:
    seconds: float
    counted: int
    failed: int
    late: int
    dropped: int
    latency_us: dict[str, float | None]
    uncorrected_us: dict[str, float | None] | None  # None: no open-model request
    driver_busy: float | None  # the busiest process's share of one CPU


def client_figures(pairs: Sequence[tuple[Reading, Reading]]) -> ClientFigures | None:
    """Sums over the processes of what each counted between its two readings (the later
    one after the earlier); the driver's busy share is its busiest process's (one CPU each)."""
    if not pairs:
        return None
    ok: dict[int, int] = {}
    uncorrected: dict[int, int] = {}
    totals = dict.fromkeys(("counted", "failed", "late", "dropped"), 0)
    busy: list[float] = []
    for start, end in pairs:
        for name in totals:
            totals[name] += getattr(end, name) - getattr(start, name)
        for into, a, b in (
            (ok, start.ok, end.ok),
            (uncorrected, start.uncorrected, end.uncorrected),
        ):
            for index, n in _minus(b, a).items():
                into[index] = into.get(index, 0) + n
        busy.append((end.cpu_s - start.cpu_s) / (end.t - start.t))
    open_model = any(n > 0 for n in uncorrected.values())
    return ClientFigures(
        seconds=max(end.t - start.t for start, end in pairs),
        latency_us=percentiles_us(ok),
        uncorrected_us=percentiles_us(uncorrected) if open_model else None,
        driver_busy=max(busy),
        **totals,
    )


@dataclass
class ServerFigures:
    seconds: float
    served: int  # successful requests (WebSocket: messages in)
    app_p50_us: float | None
    app_p99_us: float | None
    cores: float | None  # CPU seconds per second of its workers
    cpu_us_per_request: float | None


def server_figures(start: ServerState, end: ServerState) -> ServerFigures:
    """The server between two of its states: time in the app, and its workers' CPU. A
    server that took WebSocket messages and no HTTP request is timed by its echoes."""
    requests = end.ok_requests - start.ok_requests
    messages = end.ws_messages_in - start.ws_messages_in
    websocket = messages > 0 and requests == 0
    a, b = (start.ws_echo, end.ws_echo) if websocket else (start.duration, end.duration)
    served = messages if websocket else requests
    seconds = end.t - start.t
    cpu = None if None in (start.cpu_s, end.cpu_s) else float(end.cpu_s or 0) - (start.cpu_s or 0)
    app = percentiles_us(_minus(b, a))
    return ServerFigures(
        seconds=seconds,
        served=served,
        # The store's buckets are of nanoseconds: the µs figure is a thousandth.
        app_p50_us=None if app["p50"] is None else app["p50"] / 1000,
        app_p99_us=None if app["p99"] is None else app["p99"] / 1000,
        cores=None if cpu is None or seconds <= 0 else cpu / seconds,
        cpu_us_per_request=None if cpu is None or served <= 0 else cpu / served * 1e6,
    )


COLUMNS = (("figure", "figure"), ("recent", "last 10 s"), ("total", "since start"))
Span = tuple[ClientFigures | None, ServerFigures | None]


def values(client: ClientFigures | None, server: ServerFigures | None) -> dict[str, float | None]:
    """The tab's figures over one span, by the name its row shows; None: not measured."""
    out: dict[str, float | None] = {}
    latency = client.latency_us if client else {}
    for key, _ in PERCENTILES:
        out[f"client {key} (µs)"] = latency.get(key)
    if client is not None and client.uncorrected_us is not None:
        for key, _ in PERCENTILES:
            out[f"uncorrected {key} (µs)"] = client.uncorrected_us[key]
    if client is not None:
        out["requests"] = client.counted
        out["requests/s"] = client.counted / client.seconds
        out["failed"] = client.failed
        out["late arrivals (over 1 ms)"] = client.late
        out["dropped arrivals"] = client.dropped
    if server is not None:
        out["in-app p50 (µs)"] = server.app_p50_us
        out["in-app p99 (µs)"] = server.app_p99_us
        out["server CPU (cores busy)"] = server.cores
        out["server CPU µs/request"] = server.cpu_us_per_request
    if client is not None:
        busy = client.driver_busy
        out["driver busy, busiest process (%)"] = None if busy is None else busy * 100
    return out


def rows(recent: Span, total: Span) -> list[dict[str, str]]:
    """The tab's table: one row per figure, its value over the last 10 s and since the
    start (``-`` where it was not measured)."""
    last, since = values(*recent), values(*total)
    names = list(dict.fromkeys([*since, *last]))  # the span with the most figures first
    return [
        {"figure": name, "recent": _text(last.get(name)), "total": _text(since.get(name))}
        for name in names
    ]


def _text(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


class Panel:
    """The web UI process's view: every driver process's readings and the server's states."""

    def __init__(self) -> None:
        self.clients: dict[str, History] = {}
        self.zeros: dict[str, Reading] = {}  # where "since start" starts, after a reset
        self.server = History()
        self.server_first: ServerState | None = None
        self.state_url = ""
        self.route_prefix = ""

    def start(self, host: str) -> None:
        scheme, hostname, port, prefix = split_host(host)
        self.state_url = f"{scheme}://{hostname}:{port}/metrics/state"
        self.route_prefix = prefix
        self.server = History()
        self.server_first = self._read_server()

    def add_client(self, source: str, reading: Reading) -> None:
        history = self.clients.get(source)
        if history is None or history.first.since != reading.since:  # a new test
            history = self.clients[source] = History()
            self.zeros.pop(source, None)
        history.add(reading)

    def reset(self) -> None:
        """From now on, "since start" counts from the latest readings."""
        self.zeros = {source: h.recent[-1] for source, h in self.clients.items() if h.recent}
        if self.server.recent:
            self.server_first = self.server.recent[-1]

    def read_server(self) -> None:
        state = self._read_server()
        if state is not None:
            self.server.add(state)

    def _read_server(self) -> ServerState | None:
        try:
            reply = get(self.state_url, timeout=2.0)
            return parse_state(json.loads(reply.body), time.time(), self.route_prefix)
        except (OSError, ValueError):
            return None  # a bare server (--no-metrics), or one that is gone: no figures

    def table(self) -> list[dict[str, str]]:
        recent, total = [], []
        for source, history in self.clients.items():
            pair = history.pair(RECENT_S)
            if pair:
                recent.append(pair)
            last = history.recent[-1]
            start = self.zeros.get(source) or Reading.zero(last.since)
            if last.t > start.t:  # none since a reset: nothing to add
                total.append((start, last))
        server_recent = server_total = None
        pair = self.server.pair(RECENT_S)
        if pair is not None:
            server_recent = server_figures(*pair)
        if self.server_first is not None and self.server.recent:
            server_total = server_figures(self.server_first, self.server.recent[-1])
        return rows((client_figures(recent), server_recent), (client_figures(total), server_total))
