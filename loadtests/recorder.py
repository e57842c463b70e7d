"""Locust plugin: record every request into HDR histograms, at microsecond resolution.

Locust stores response times in 1 ms buckets, which flattens hello-world latencies to 0 or
1 ms. This plugin listens to ``events.request`` in every Locust process and keeps:

* ``main``: one histogram of all counted requests (see :mod:`loadtests`) that completed
  after the warm-up: from the first whole second ``ASGI_BENCH_WARMUP`` s after the start;
* ``entries``: one histogram per auxiliary entry (``TTFB /sse`` ...), after the warm-up;
* ``series``: one histogram of counted requests per wall-clock second, warm-up included;
* error counts, split into non-2xx responses, wrong bodies and other exceptions.

When Locust quits, each process writes ``hdr-<pid>.json`` into ``ASGI_BENCH_RECORD_DIR``.
Without that variable (a run by hand) the plugin does nothing.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from typing import Any

from hdrh.histogram import HdrHistogram
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from asgi_bench.loadtests import COUNTED_TYPES, HIGHEST_US, LOWEST_US
from asgi_bench.loadtests.support import BadStatus, WrongBody

OUT_DIR = os.environ.get("ASGI_BENCH_RECORD_DIR")
WARMUP_S = float(os.environ.get("ASGI_BENCH_WARMUP", "0") or 0)


class Recorder:
    def __init__(self) -> None:
        self.main = HdrHistogram(LOWEST_US, HIGHEST_US, 3)
        self.entries: dict[str, HdrHistogram] = {}
        self.series: dict[int, HdrHistogram] = {}
        self.errors: Counter[str] = Counter()
        self.window_errors: Counter[str] = Counter()
        self.test_start: float | None = None
        self.measure_from = float("inf")
        self.test_stop: float | None = None
        self.role = "local"

    def start(self) -> None:
        self.test_start = time.time()
        # A whole second, so the window matches Locust's per-second counters exactly.
        self.measure_from = float(math.ceil(self.test_start + WARMUP_S))

    def record(
        self, request_type: str, name: str, response_time: float, exception: Any, response: Any
    ) -> None:
        now = time.time()
        in_window = now >= self.measure_from
        if exception is not None:
            kind = _classify(exception, response)
            self.errors[kind] += 1
            if in_window:
                self.window_errors[kind] += 1
        value = min(max(int(response_time * 1000), LOWEST_US), HIGHEST_US)
        if request_type in COUNTED_TYPES:
            second = int(now)
            hist = self.series.get(second)
            if hist is None:
                hist = self.series[second] = HdrHistogram(LOWEST_US, HIGHEST_US, 2)
            hist.record_value(value)
            if in_window:
                self.main.record_value(value)
        elif in_window:
            key = f"{request_type} {name}"
            hist = self.entries.get(key)
            if hist is None:
                hist = self.entries[key] = HdrHistogram(LOWEST_US, HIGHEST_US, 3)
            hist.record_value(value)

    def dump(self) -> None:
        if not OUT_DIR:
            return
        data = {
            "pid": os.getpid(),
            "role": self.role,
            "warmup_s": WARMUP_S,
            "test_start": self.test_start,
            "measure_from": self.measure_from if self.test_start else None,
            "test_stop": self.test_stop,
            "main": _encode(self.main),
            "entries": {key: _encode(h) for key, h in self.entries.items()},
            "series": {str(sec): _encode(h) for sec, h in sorted(self.series.items())},
            "errors": dict(self.errors),
            "window_errors": dict(self.window_errors),
        }
        os.makedirs(OUT_DIR, exist_ok=True)
        path = os.path.join(OUT_DIR, f"hdr-{os.getpid()}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(path + ".tmp", path)


def _encode(hist: HdrHistogram) -> str:
    encoded: bytes = hist.encode()
    return encoded.decode("ascii")


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
    if isinstance(environment.runner, MasterRunner):
        RECORDER.role = "master"
    elif isinstance(environment.runner, WorkerRunner):
        RECORDER.role = "worker"


@events.test_start.add_listener
def _on_test_start(**_: Any) -> None:
    RECORDER.start()


@events.request.add_listener
def _on_request(
    request_type: str,
    name: str,
    response_time: float,
    exception: Any = None,
    response: Any = None,
    **_: Any,
) -> None:
    RECORDER.record(request_type, name, response_time, exception, response)


@events.test_stop.add_listener
def _on_test_stop(**_: Any) -> None:
    RECORDER.test_stop = time.time()


@events.quitting.add_listener
def _on_quitting(**_: Any) -> None:
    RECORDER.dump()
