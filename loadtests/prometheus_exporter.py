"""Locust plugin: Locust's own stats as Prometheus metrics, at ``/metrics`` on its web UI.

Load it next to a Locust file: ``locust -f loadtests/prometheus_exporter.py,loadtests/hello.py``.
On a master, the stats are those aggregated from all workers.

Metrics: ``locust_users``, ``locust_requests_total`` and ``locust_failures_total`` (by
method and name), ``locust_current_rps`` and ``locust_response_time_seconds`` (current
percentiles over Locust's last 10 s window, ``quantile`` 0.5 / 0.9 / 0.99).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from locust import events
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

QUANTILES = (0.5, 0.9, 0.99)
ENTRY = ["method", "name"]


class LocustCollector:
    def __init__(self, environment: Any) -> None:
        self.environment = environment

    def collect(self) -> Iterator[Metric]:
        runner = self.environment.runner
        if runner is None:
            return
        yield GaugeMetricFamily("locust_users", "Running Locust users.", value=runner.user_count)
        requests = CounterMetricFamily("locust_requests", "Requests completed.", labels=ENTRY)
        failures = CounterMetricFamily("locust_failures", "Requests failed.", labels=ENTRY)
        rps = GaugeMetricFamily("locust_current_rps", "Requests/s, last seconds.", labels=ENTRY)
        latency = GaugeMetricFamily(
            "locust_response_time_seconds",
            "Client response time percentiles over Locust's current window.",
            labels=[*ENTRY, "quantile"],
        )
        for entry in runner.stats.entries.values():
            labels = [entry.method, entry.name]
            requests.add_metric(labels, entry.num_requests)
            failures.add_metric(labels, entry.num_failures)
            rps.add_metric(labels, entry.current_rps or 0.0)
            for q in QUANTILES:
                ms = entry.get_current_response_time_percentile(q)
                if ms is not None:
                    latency.add_metric([*labels, str(q)], ms / 1000)
        yield from (requests, failures, rps, latency)


@events.init.add_listener
def _add_metrics_route(environment: Any, **_: Any) -> None:
    if environment.web_ui is None:
        return
    registry = CollectorRegistry()
    registry.register(LocustCollector(environment))  # type: ignore[arg-type]
    from flask import Response, request

    @environment.web_ui.app.route("/metrics")
    def metrics() -> Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return Response(encoder(registry), content_type=content_type)
