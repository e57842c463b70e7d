"""The metric families the middleware records off the per-request path (exceptions,
disconnects, WebSocket, lifespan), and the latency buckets every histogram is exposed in.

The request families are not here: the per-request path counts into the store
(:mod:`asgi_bench.collectors.store`) and :mod:`asgi_bench.collectors.families` exposes them.
Every family carries the labels ``server`` and ``app``; request families add ``route``,
``method`` and ``status``. The README's table lists them all.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# About 25 us to 10 s: fine enough for sub-millisecond hello-world latencies.
LATENCY_BUCKETS = (
    0.000025,
    0.00005,
    0.000075,
    0.0001,
    0.00015,
    0.0002,
    0.0003,
    0.0005,
    0.00075,
    0.001,
    0.0015,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
SESSION_BUCKETS = (0.01, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

BASE = ("server", "app")
REQUEST = (*BASE, "route", "method", "status")


class Metrics:
    """The metric families off the per-request path, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.exceptions = Counter(
            "asgi_exceptions",
            "Exceptions raised by the app.",
            (*BASE, "route", "exception"),
            registry=r,
        )
        self.disconnects = Counter(
            "asgi_client_disconnects",
            "Clients gone before the response was complete.",
            (*BASE, "route"),
            registry=r,
        )
        self.ws_connections = Counter(
            "asgi_websocket_connections",
            "WebSocket connections by outcome.",
            (*BASE, "route", "outcome"),
            registry=r,
        )
        self.ws_active = Gauge(
            "asgi_websocket_connections_active",
            "Open WebSocket connections.",
            BASE,
            multiprocess_mode="livesum",
            registry=r,
        )
        self.ws_messages = Counter(
            "asgi_websocket_messages",
            "WebSocket messages, direction in or out.",
            (*BASE, "route", "direction"),
            registry=r,
        )
        self.ws_session = Histogram(
            "asgi_websocket_session_duration_seconds",
            "WebSocket connect to disconnect.",
            (*BASE, "route"),
            buckets=SESSION_BUCKETS,
            registry=r,
        )
        self.lifespan = Counter(
            "asgi_lifespan_events",
            "Lifespan phases by outcome (complete, failed, error).",
            (*BASE, "phase", "outcome"),
            registry=r,
        )
        self.lifespan_duration = Gauge(
            "asgi_lifespan_duration_seconds",
            "How long the last lifespan phase took.",
            (*BASE, "phase"),
            multiprocess_mode="max",
            registry=r,
        )
