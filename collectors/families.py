"""The request families, rendered from the store at scrape time (a prometheus-client
collector): nothing on the per-request path touches prometheus-client.

``asgi_requests_total``, ``asgi_request_duration_seconds``,
``asgi_time_to_first_byte_seconds``, ``asgi_request_bytes_total``,
``asgi_response_bytes_total``, ``asgi_requests_in_progress`` and
``asgi_websocket_messages_total``. The histogram buckets are derived from the store's fine
histograms: a bucket ``le=b`` counts every fine bucket up to the one holding ``b``, so a
bound is exact to within 1.6%; a histogram's ``_sum`` is the sum of its fine buckets'
middles, within 0.8%.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from asgi_bench.collectors.metrics import BASE, REQUEST
from asgi_bench.collectors.store import (
    LocalStore,
    SeriesState,
    SharedStore,
    bucket,
    bucket_range,
)

HELP = {
    "requests": "HTTP requests completed.",
    "duration": "From the app being called to the last body chunk sent.",
    "ttfb": "From the app being called to http.response.start sent.",
    "request_bytes": "Request body bytes received by the app.",
    "response_bytes": "Response body bytes sent by the app.",
    "in_progress": "HTTP requests being handled.",
    "ws_messages": "WebSocket messages, direction in or out.",
}


class StoreCollector:
    def __init__(
        self,
        store: LocalStore | SharedStore,
        labels: tuple[str, str],
        bounds: tuple[float, ...],
    ) -> None:
        self.store = store
        self.labels = labels
        self.bounds = bounds
        # The fine bucket holding each bound: cumulative counts are taken up to it.
        self.cuts = [bucket(round(b * 1e9)) for b in bounds]

    def collect(self) -> Iterator[Metric]:
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
        ws = CounterMetricFamily(
            "asgi_websocket_messages", HELP["ws_messages"], labels=[*BASE, "route", "direction"]
        )
        for s in self.store.series():
            route, method, status = s.key
            if method == "WS":
                ws.add_metric([*self.labels, route, "in"], s.count)
                ws.add_metric([*self.labels, route, "out"], s.units_out)
                continue
            if method == "ASGI":
                continue  # --profile's split of the requests' time: the harness's, not a request
            values = [*self.labels, route, method, str(status)]
            requests.add_metric(values, s.count)
            duration.add_metric(values, self._cumulative(s, "a"), _sum(s.hist_a))
            ttfb.add_metric(values, self._cumulative(s, "b"), _sum(s.hist_b))
            bytes_in.add_metric(values, s.units_in)
            bytes_out.add_metric(values, s.units_out)
        gauge = GaugeMetricFamily("asgi_requests_in_progress", HELP["in_progress"], labels=BASE)
        gauge.add_metric(list(self.labels), self.store.in_progress())
        yield from (requests, duration, ttfb, bytes_in, bytes_out, gauge, ws)

    def _cumulative(self, series: SeriesState, which: str) -> list[tuple[str, float]]:
        """Cumulative counts up to each bound: every fine bucket up to the one holding it."""
        hist = series.hist_a if which == "a" else series.hist_b
        out: list[tuple[str, float]] = []
        for bound, cut in zip(self.bounds, self.cuts, strict=True):
            out.append((repr(bound), float(sum(n for i, n in hist.items() if i <= cut))))
        out.append(("+Inf", float(series.count)))
        return out


def _sum(hist: dict[int, int]) -> float:
    """A histogram's sum in seconds, from its fine buckets' middles: within 0.8% of the
    true sum, without adding every duration on the per-request path."""
    total = 0
    for index, count in hist.items():
        low, high = bucket_range(index)
        total += (low + high) // 2 * count
    return total / 1e9
