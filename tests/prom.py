"""Read Prometheus text in tests: what Grafana and Prometheus would see."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def prom_sum(text: str, sample: str, **labels: str) -> float:
    """The sum of every ``sample`` (e.g. ``asgi_requests_total``) whose labels match."""
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )
