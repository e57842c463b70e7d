"""Locust plugin: the measured window, and every request in HDR histograms at µs resolution.

Locust stores response times in 1 ms buckets, which flattens hello-world latencies to 0 or
1 ms. This plugin listens to ``events.request`` in every Locust process and keeps, for the
one measured window ``[start, end)`` (whole unix seconds, decided by the leader at test
start as ``ceil(start + ASGI_BENCH_WARMUP)`` plus ``ASGI_BENCH_DURATION``):

* ``ok``: a histogram of the counted requests (see :mod:`asgi_bench.loadtests`) that
  succeeded and completed inside the window; failures are counted by kind beside it, never
  timed with the successes;
* ``entries``: a histogram per auxiliary timing (``TTFB /chunked`` ...) inside the window;
* ``series``: per wall-clock second, warm-up included: a histogram of successes and a count
  of failures;
* totals over the whole run, to reconcile with Locust's own counters;
* the process's own CPU seconds at the window's edges, so each process says how busy it was;
* for the open model (:mod:`asgi_bench.loadtests.openloop`, whose events carry their intended
  and actual send times): an arrival belongs to the window by its *intended* time, ``ok``
  holds the corrected latencies, ``uncorrected`` the same requests from their actual send,
  ``lag`` the scheduler's delay from intended to dispatched; arrivals dispatched late,
  dropped (never sent) and unfinished at the end are counted, and so are, inside the
  window, the arrivals the schedule held and the requests a connection actually sent (the
  rate the driver achieved: a dispatched arrival that no connection sent is not offered).

``completed_window`` counts requests by the time they completed, whatever the model: that
is what the server's own counters are compared with; ``answered_window``, the successes
among them, is the throughput (an open-model server that falls behind answers fewer in the
window than the window's arrivals it answers in the end).

The leader (a local run, or the master) writes ``window.json`` into
``ASGI_BENCH_RECORD_DIR`` as soon as the window is known, so the harness can read the
server's counters at the same edges, and it ends the test itself at the window's end: it
asks every worker to stop, each worker sends its data back over Locust's own messaging (so
nothing depends on a shared disk), and the master waits for all of them (bounded) before it
quits: Locust's own quit waits only half a second for workers. The leader then writes every
process's data into ``recorder.json``, with the workers it expected and did not hear from.
Locust's ``--run-time`` stays as a safety net.
Without ``ASGI_BENCH_RECORD_DIR`` (a run by hand) the plugin does nothing.

Load it as ``-f loadtests/harness.py,...``: that file imports this module by its package
name, so the listeners are registered once, whoever else imports it.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import socket
import time
from collections import Counter
from pathlib import Path
from typing import Any

import gevent
import psutil
from hdrh.histogram import HdrHistogram
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from asgi_bench import envvars
from asgi_bench.collectors.store import BUCKETS, bucket, bucket_range
from asgi_bench.loadtests import COUNTED_TYPES, HIGHEST_US, LOWEST_US
from asgi_bench.loadtests.support import BadStatus, WrongBody
from asgi_bench.results.layout import RepeatLayout

OUT_DIR = os.environ.get(envvars.RECORD_DIR)
WARMUP_S = float(os.environ.get(envvars.WARMUP, "0") or 0)
DURATION_S = math.ceil(float(os.environ.get(envvars.DURATION, "0") or 0))
STOP_TIMEOUT_S = float(os.environ.get(envvars.STOP_TIMEOUT, "5") or 5)
WINDOW_MESSAGE = "asgi_bench_window"
STOP_MESSAGE = "asgi_bench_stop"
RECORD_MESSAGE = "asgi_bench_record"
# Without a record folder and a window (a run by hand: the web UI), the per-second series
# keeps only its last minute, so a UI left running for days holds a minute's memory.
ROLLING_S = 60
# A failed cell names what went wrong: the first few distinct failure messages, counted
# (a run failing a million ways keeps only these, each message cut to a line).
MESSAGES, MESSAGE_CHARS = 5, 160


class LogHist:
    """Microseconds counted per log-linear bucket (64 per power of two, 1.6% wide): one list
    increment per value, where HdrHistogram's pure-Python ``record_value`` costs about 8 µs
    and would cap the rate one driver process can offer. Turned into an HDR histogram (each
    bucket's values at its middle, within 0.8%) only when reported."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts = [0] * BUCKETS

    def record(self, us: int) -> None:
        self.counts[bucket(us)] += 1

    def hdr(self, digits: int = 3) -> HdrHistogram:
        hist = HdrHistogram(LOWEST_US, HIGHEST_US, digits)
        for index, count in enumerate(self.counts):
            if count:
                low, high = bucket_range(index)
                hist.record_value(min(max((low + high - 1) // 2, LOWEST_US), HIGHEST_US), count)
        return hist


class Recorder:
    def __init__(self) -> None:
        self.role = "local"
        self.ok = LogHist()
        self.entries: dict[str, LogHist] = {}
        self.series: dict[int, LogHist] = {}
        self.series_failed: Counter[int] = Counter()
        self.window_errors: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()  # see MESSAGES
        self.counted_total = 0
        self.counted_window = 0  # by intended time (open model) or completion (closed)
        self.completed_window = 0
        self.answered_window = 0  # successes that completed inside the window
        self.uncorrected = LogHist()
        self.lag = LogHist()
        self.late = 0
        self.dropped_window = 0
        self.unfinished_count = 0
        self.sent_window = 0  # requests put on the wire inside the window
        self.scheduled_window = 0  # arrivals the schedule held for the window
        self.test_start: float | None = None
        self.test_stop: float | None = None
        self.window: tuple[float, float] = (math.inf, math.inf)
        self.cpu_edges: list[float | None] = [None, None]
        self.workers: dict[str, dict[str, Any]] = {}  # Locust client id -> its data
        self.expected: list[str] = []  # the workers the master asked to stop
        self.client_id = ""
        self.sent = False
        self._process = psutil.Process()
        self._second = 0  # the wall-clock second of the last counted request

    def set_window(self, start: float, end: float, runner: Any = None) -> None:
        """Take CPU readings at both edges; the leader (``runner`` given) also ends the test."""
        self.window = (start, end)
        now = time.time()
        for index, edge in enumerate((start, end)):
            gevent.spawn_later(max(0.0, edge - now), self._cpu_at_edge, index)
        if runner is not None:
            gevent.spawn_later(max(0.0, end - now), _finish, runner)

    def _cpu_at_edge(self, index: int) -> None:
        times = self._process.cpu_times()
        self.cpu_edges[index] = times.user + times.system

    def record(
        self,
        request_type: str,
        name: str,
        response_time: float,
        exception: Any,
        response: Any,
        context: dict[str, Any],
    ) -> None:
        now = time.time()
        start, end = self.window
        intended = context.get("intended")
        completed = start <= now < end
        in_window = start <= intended < end if intended is not None else completed
        value = _us(response_time)
        if request_type not in COUNTED_TYPES:
            if completed and exception is None:
                key = f"{request_type} {name}"
                hist = self.entries.get(key)
                if hist is None:
                    hist = self.entries[key] = LogHist()
                hist.record(value)
            return
        self.counted_total += 1
        self.completed_window += completed
        self.counted_window += in_window
        if intended is not None and in_window:
            self.lag.record(_us(context["lag_ms"]))
            self.late += bool(context["late"])
        second = int(now)
        if second != self._second:
            self._second = second
            if not OUT_DIR and not math.isfinite(end):  # no end yet: keep a rolling minute
                self.forget_before(second - ROLLING_S)
        if exception is not None:
            kind = _classify(exception, response)
            self.errors[kind] += 1
            said = _message(exception)
            if said in self.messages or len(self.messages) < MESSAGES:
                self.messages[said] += 1
            self.series_failed[second] += 1
            if in_window:
                self.window_errors[kind] += 1
            return
        hist = self.series.get(second)
        if hist is None:
            hist = self.series[second] = LogHist()
        hist.record(value)
        self.answered_window += completed
        if in_window:
            self.ok.record(value)
            if intended is not None:
                self.uncorrected.record(_us(context["uncorrected_ms"]))

    def forget_before(self, second: int) -> None:
        """Drop the per-second series before ``second`` (rolling state, once a second)."""
        for old in [s for s in self.series if s < second]:
            del self.series[old]
        for old in [s for s in self.series_failed if s < second]:
            del self.series_failed[old]

    def scheduled(self, intended: float) -> None:
        """An arrival of the open model's schedule, intended at ``intended`` (unix time)."""
        self.scheduled_window += self.window[0] <= intended < self.window[1]

    def on_wire(self, sent: float) -> None:
        """A request of the open model written to its connection at ``sent`` (unix time)."""
        self.sent_window += self.window[0] <= sent < self.window[1]

    def dropped(self, intended: float) -> None:
        """An arrival the open model could not send: too many were waiting for a slot."""
        self.dropped_window += self.window[0] <= intended < self.window[1]

    def unfinished(self, count: int) -> None:
        """Requests sent and still unanswered when the test stopped, after the stop timeout."""
        self.unfinished_count += count

    def never_sent(self, count: int) -> None:
        """Arrivals still waiting for a connection when the test stopped: never offered."""
        self.dropped_window += count

    def data(self) -> dict[str, Any]:
        return {
            "id": self.client_id or f"{socket.gethostname()}:{os.getpid()}",
            "role": self.role,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "window": list(self.window) if math.isfinite(self.window[0]) else None,
            "cpu_edges": self.cpu_edges,
            "cpus": sorted(os.sched_getaffinity(0)),
            "counted_total": self.counted_total,
            "counted_window": self.counted_window,
            "completed_window": self.completed_window,
            "answered_window": self.answered_window,
            "sent_window": self.sent_window,
            "scheduled_window": self.scheduled_window,
            "late": self.late,
            "dropped": self.dropped_window,
            "unfinished": self.unfinished_count,
            "uncorrected": _encode(self.uncorrected),
            "lag": _encode(self.lag),
            "ok": _encode(self.ok),
            "entries": {key: _encode(h) for key, h in self.entries.items()},
            "series": {str(sec): _encode(h, 2) for sec, h in sorted(self.series.items())},
            "series_failed": {str(sec): n for sec, n in sorted(self.series_failed.items())},
            "errors": dict(self.errors),
            "messages": dict(self.messages),
            "window_errors": dict(self.window_errors),
        }

    def write(self, expected_workers: int) -> None:
        processes = [self.data(), *self.workers.values()]
        payload = {
            "window": list(self.window) if math.isfinite(self.window[0]) else None,
            "test_start": self.test_start,
            "test_stop": self.test_stop,
            "expected_workers": expected_workers,
            "missing_workers": sorted(set(self.expected) - set(self.workers)),
            "processes": processes,
        }
        _write(str(RepeatLayout(Path(OUT_DIR or ".")).recorder_json), payload)


def _finish(runner: Any) -> None:
    if isinstance(runner, MasterRunner):
        RECORDER.expected = sorted(runner.clients.keys())
        runner.send_message(STOP_MESSAGE)
        deadline = time.monotonic() + STOP_TIMEOUT_S + 10
        while time.monotonic() < deadline and not set(RECORDER.expected) <= set(RECORDER.workers):
            gevent.sleep(0.02)
    runner.quit()


def _write(path: str, payload: dict[str, Any]) -> None:
    try:
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
        os.replace(path + ".tmp", path)
    except OSError:
        # A full disk: no half-written file is left behind; the harness says why.
        with contextlib.suppress(OSError):
            os.remove(path + ".tmp")
        raise


def _us(ms: float) -> int:
    return min(max(int(ms * 1000), LOWEST_US), HIGHEST_US)


def _encode(hist: LogHist, digits: int = 3) -> str:
    encoded: bytes = hist.hdr(digits).encode()
    return encoded.decode("ascii")


def _message(exception: BaseException) -> str:
    """One line naming a failure, e.g. ``ConnectionResetError: [Errno 104] Connection reset
    by peer`` (tests/test_recorder.py)."""
    said = " ".join(f"{type(exception).__name__}: {exception}".split())
    return said[:MESSAGE_CHARS]


def _classify(exception: Any, response: Any) -> str:
    if isinstance(exception, WrongBody):
        return "wrong_body"
    if isinstance(exception, BadStatus):
        return "non_2xx"
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and status and not 200 <= status < 300:
        return "non_2xx"
    return "exceptions"


RECORDER = Recorder()


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        RECORDER.role = "master"
        runner.register_message(RECORD_MESSAGE, _on_worker_record)
    elif isinstance(runner, WorkerRunner):
        RECORDER.role = "worker"
        RECORDER.client_id = runner.client_id
        runner.register_message(WINDOW_MESSAGE, _on_window)
        runner.register_message(STOP_MESSAGE, _on_stop, concurrent=True)


def _on_window(environment: Any, msg: Any, **_: Any) -> None:
    RECORDER.set_window(*msg.data["window"])


def _on_stop(environment: Any, msg: Any, **_: Any) -> None:
    environment.runner.stop()  # fires test_stop, which sends this worker's record


def _on_worker_record(environment: Any, msg: Any, **_: Any) -> None:
    RECORDER.workers[msg.data["id"]] = msg.data


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    if not OUT_DIR and RECORDER.role != "worker":
        return
    # Everything made at start-up moves out of the collector's way: fewer, shorter pauses
    # of the driver while it keeps a schedule.
    gc.collect()
    gc.freeze()
    _pin_worker(environment.runner)
    RECORDER.test_start = time.time()
    if RECORDER.role == "worker" or not OUT_DIR:
        return  # the master decides the window and sends it
    start = float(math.ceil(RECORDER.test_start + WARMUP_S))
    end = start + DURATION_S
    if RECORDER.role == "master":
        environment.runner.send_message(WINDOW_MESSAGE, {"window": [start, end]})
    RECORDER.set_window(start, end, environment.runner)
    _write(str(RepeatLayout(Path(OUT_DIR)).window_json), {"window": [start, end]})


def _pin_worker(runner: Any) -> None:
    """A worker of ``locust --processes`` takes a driver CPU of its own, by its index: one
    process per core, none of them sharing one while another idles."""
    cpus = [int(c) for c in os.environ.get(envvars.DRIVER_CPUS, "").split(",") if c]
    if cpus and isinstance(runner, WorkerRunner):
        os.sched_setaffinity(0, {cpus[runner.worker_index % len(cpus)]})


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    exception: Any = None,
    response: Any = None,
    context: Any = None,
    **_: Any,
) -> None:
    ctx = context if isinstance(context, dict) else {}
    RECORDER.record(request_type, name, response_time, exception, response, ctx)


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    RECORDER.test_stop = time.time()
    # A worker always reports: on another host it has no record folder, the master does.
    if RECORDER.role == "worker" and not RECORDER.sent:
        RECORDER.sent = True
        # Locust's own last report of this worker's requests goes ahead of the record: the
        # master quits once every record is in, and Locust sends a worker's final report
        # only on quit, which the master waits half a second for (on a busy machine, not
        # enough: Locust's count fell short of ours). Reports are deltas: none is counted
        # twice.
        environment.runner._send_stats()
        environment.runner.send_message(RECORD_MESSAGE, RECORDER.data())


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    if OUT_DIR and RECORDER.role != "worker":
        options = environment.parsed_options
        RECORDER.write(int(getattr(options, "expect_workers", 0) or 0) if options else 0)
