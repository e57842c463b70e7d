"""The hot path: per-request counters and histograms, in two interchangeable backends.

* :class:`LocalRequestMetrics` (one process): one slotted series object per label tuple,
  updated under one lock and turned into metric families only when scraped. This is what
  keeps the middleware's cost near a microsecond per request: prometheus-client's own
  children take a lock and a value object per counter, six times per request.
* :class:`MultiprocessRequestMetrics` (``PROMETHEUS_MULTIPROC_DIR`` set): prometheus-client
  metrics, whose values live in per-process mmap files that its MultiProcessCollector adds
  up across workers.

Both record ``asgi_requests_total``, ``asgi_request_duration_seconds``,
``asgi_time_to_first_byte_seconds``, ``asgi_request_bytes_total``,
``asgi_response_bytes_total`` and ``asgi_requests_in_progress``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from asgi_bench.collectors.metrics import BASE, REQUEST

Key = tuple[str, str, int]  # route, method, status

HELP = {
    "requests": "HTTP requests completed.",
    "duration": "From the app being called to the last body chunk sent.",
    "ttfb": "From the app being called to http.response.start sent.",
    "request_bytes": "Request body bytes received by the app.",
    "response_bytes": "Response body bytes sent by the app.",
    "in_progress": "HTTP requests being handled.",
}


class RequestMetrics(Protocol):
    def started(self) -> None: ...

    def finished(
        self, key: Key, duration: float, ttfb: float, bytes_in: int, bytes_out: int
    ) -> None: ...


class _Series:
    __slots__ = ("bytes_in", "bytes_out", "count", "duration", "duration_sum", "ttfb", "ttfb_sum")

    def __init__(self, buckets: int) -> None:
        self.count = 0
        self.duration_sum = 0.0
        self.ttfb_sum = 0.0
        self.duration = [0] * buckets
        self.ttfb = [0] * buckets
        self.bytes_in = 0
        self.bytes_out = 0


class LocalRequestMetrics:
    def __init__(
        self, registry: CollectorRegistry, labels: tuple[str, str], bounds: tuple[float, ...]
    ) -> None:
        self.labels = labels
        self.bounds = bounds
        self.in_progress = 0
        self._series: dict[Key, _Series] = {}
        self._lock = threading.Lock()
        registry.register(self)  # type: ignore[arg-type]

    def started(self) -> None:
        with self._lock:
            self.in_progress += 1

    def finished(
        self, key: Key, duration: float, ttfb: float, bytes_in: int, bytes_out: int
    ) -> None:
        with self._lock:
            self.in_progress -= 1
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series(len(self.bounds) + 1)
            series.count += 1
            series.duration_sum += duration
            series.duration[bisect_left(self.bounds, duration)] += 1
            series.ttfb_sum += ttfb
            series.ttfb[bisect_left(self.bounds, ttfb)] += 1
            series.bytes_in += bytes_in
            series.bytes_out += bytes_out

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            snapshot = [(key, _copy(s)) for key, s in self._series.items()]
            in_progress = self.in_progress
        requests = CounterMetricFamily("asgi_requests", HELP["requests"], labels=REQUEST)
        duration = HistogramMetricFamily(
            "asgi_request_duration_seconds", HELP["duration"], labels=REQUEST
        )
        ttfb = HistogramMetricFamily(
            "asgi_time_to_first_byte_seconds", HELP["ttfb"], labels=REQUEST
        )
        bytes_in = CounterMetricFamily("asgi_request_bytes", HELP["request_bytes"], labels=REQUEST)
        bytes_out = CounterMetricFamily(
            "asgi_response_bytes", HELP["response_bytes"], labels=REQUEST
        )
        for (route, method, status), s in snapshot:
            values = [*self.labels, route, method, str(status)]
            requests.add_metric(values, s.count)
            duration.add_metric(values, self._cumulative(s.duration), s.duration_sum)
            ttfb.add_metric(values, self._cumulative(s.ttfb), s.ttfb_sum)
            bytes_in.add_metric(values, s.bytes_in)
            bytes_out.add_metric(values, s.bytes_out)
        gauge = GaugeMetricFamily("asgi_requests_in_progress", HELP["in_progress"], labels=BASE)
        gauge.add_metric(list(self.labels), in_progress)
        yield from (requests, duration, ttfb, bytes_in, bytes_out, gauge)

    def _cumulative(self, counts: list[int]) -> list[tuple[str, float]]:
        total = 0
        out: list[tuple[str, float]] = []
        for bound, n in zip([*map(repr, self.bounds), "+Inf"], counts, strict=True):
            total += n
            out.append((bound, total))
        return out


def _copy(series: _Series) -> _Series:
    clone = _Series(0)
    for name in _Series.__slots__:
        value = getattr(series, name)
        setattr(clone, name, list(value) if isinstance(value, list) else value)
    return clone


class MultiprocessRequestMetrics:
    def __init__(
        self, registry: CollectorRegistry, labels: tuple[str, str], bounds: tuple[float, ...]
    ) -> None:
        self.labels = labels
        self._requests = Counter("asgi_requests", HELP["requests"], REQUEST, registry=registry)
        self._duration = Histogram(
            "asgi_request_duration_seconds",
            HELP["duration"],
            REQUEST,
            buckets=bounds,
            registry=registry,
        )
        self._ttfb = Histogram(
            "asgi_time_to_first_byte_seconds",
            HELP["ttfb"],
            REQUEST,
            buckets=bounds,
            registry=registry,
        )
        self._bytes_in = Counter(
            "asgi_request_bytes", HELP["request_bytes"], REQUEST, registry=registry
        )
        self._bytes_out = Counter(
            "asgi_response_bytes", HELP["response_bytes"], REQUEST, registry=registry
        )
        self._in_progress = Gauge(
            "asgi_requests_in_progress",
            HELP["in_progress"],
            BASE,
            multiprocess_mode="livesum",
            registry=registry,
        ).labels(*labels)
        self._children: dict[Key, tuple[Any, ...]] = {}

    def started(self) -> None:
        self._in_progress.inc()

    def finished(
        self, key: Key, duration: float, ttfb: float, bytes_in: int, bytes_out: int
    ) -> None:
        self._in_progress.dec()
        children = self._children.get(key)
        if children is None:
            values = (*self.labels, key[0], key[1], str(key[2]))
            children = self._children[key] = tuple(
                metric.labels(*values)
                for metric in (
                    self._requests,
                    self._duration,
                    self._ttfb,
                    self._bytes_in,
                    self._bytes_out,
                )
            )
        requests, duration_h, ttfb_h, b_in, b_out = children
        requests.inc()
        duration_h.observe(duration)
        ttfb_h.observe(ttfb)
        if bytes_in:
            b_in.inc(bytes_in)
        if bytes_out:
            b_out.inc(bytes_out)
