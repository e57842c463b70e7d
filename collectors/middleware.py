"""``PrometheusMiddleware``: server-side metrics for any raw ASGI app, no framework needed.

Example::

    from asgi_bench.collectors.middleware import PrometheusMiddleware
    from asgi_bench.apps.hello import app as hello, ROUTES

    app = PrometheusMiddleware(hello, server="uvicorn", app_name="hello", routes=ROUTES)

It observes ``send`` and ``receive`` and never buffers a body, so streams, uploads,
WebSockets and lifespan pass through unchanged. When the app raises, a 500 is recorded and
the exception re-raised. ``GET /metrics`` (``metrics_path``) is answered by the middleware
itself, rendered in a thread so the event loop keeps serving. Under several workers, set
``PROMETHEUS_MULTIPROC_DIR`` to a fresh directory before the workers start.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from asgi_bench.collectors.exposition import render
from asgi_bench.collectors.metrics import LATENCY_BUCKETS, Metrics
from asgi_bench.collectors.requests import (
    LocalRequestMetrics,
    MultiprocessRequestMetrics,
    RequestMetrics,
)
from asgi_bench.collectors.routes import RouteLabeler

Scope = dict[str, Any]
Message = dict[str, Any]

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _Exchange:
    """What one HTTP request did, filled in by the wrapped send/receive."""

    __slots__ = ("bytes_in", "bytes_out", "complete", "end", "status", "ttfb")

    def __init__(self) -> None:
        self.status = 0
        self.ttfb = 0.0
        self.end = 0.0
        self.bytes_in = 0
        self.bytes_out = 0
        self.complete = False


class PrometheusMiddleware:
    def __init__(
        self,
        app: Any,
        *,
        server: str = "",
        app_name: str = "",
        routes: Iterable[str] | None = None,
        max_routes: int = 100,
        metrics_path: str | None = "/metrics",
        metrics_port: int | None = None,
        registry: CollectorRegistry | None = None,
        buckets: tuple[float, ...] = LATENCY_BUCKETS,
    ) -> None:
        self.app = app
        self.metrics_path = metrics_path
        self.multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = Metrics(self.registry)
        self.routes = RouteLabeler(routes, max_routes)
        self.labels = (server, app_name)
        backend = MultiprocessRequestMetrics if self.multiproc_dir else LocalRequestMetrics
        self.requests: RequestMetrics = backend(self.registry, self.labels, buckets)
        self._ws_active = self.metrics.ws_active.labels(*self.labels)
        if metrics_port is not None:
            # One listener per process: use with a single worker only.
            start_http_server(metrics_port, addr="127.0.0.1", registry=self.registry)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            if scope["path"] == self.metrics_path:
                await self._serve_metrics(scope, send)
            else:
                await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Any, send: Any) -> None:
        route = self.routes.label(scope["path"])
        method = scope["method"]
        if method not in KNOWN_METHODS:
            method = "OTHER"
        exchange = _Exchange()
        start = perf_counter()

        async def observed_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                exchange.status = message["status"]
                exchange.ttfb = perf_counter() - start
            elif kind == "http.response.body":
                exchange.bytes_out += len(message.get("body", b""))
                if not message.get("more_body", False):
                    await send(message)
                    exchange.end = perf_counter()
                    exchange.complete = True
                    return
            await send(message)

        async def observed_receive() -> Message:
            message: Message = await receive()
            kind = message["type"]
            if kind == "http.request":
                exchange.bytes_in += len(message.get("body", b""))
            elif kind == "http.disconnect" and not exchange.complete:
                self.metrics.disconnects.labels(*self.labels, route).inc()
            return message

        self.requests.started()
        try:
            await self.app(scope, observed_receive, observed_send)
        except Exception as exc:
            exchange.status = 500
            self.metrics.exceptions.labels(*self.labels, route, type(exc).__name__).inc()
            raise
        finally:
            duration = (exchange.end or perf_counter()) - start
            self.requests.finished(
                (route, method, exchange.status),
                duration,
                exchange.ttfb or duration,
                exchange.bytes_in,
                exchange.bytes_out,
            )

    async def _websocket(self, scope: Scope, receive: Any, send: Any) -> None:
        m = self.metrics
        route = self.routes.label(scope["path"])
        messages_in = m.ws_messages.labels(*self.labels, route, "in")
        messages_out = m.ws_messages.labels(*self.labels, route, "out")
        accepted = False
        start = perf_counter()

        async def observed_receive() -> Message:
            message: Message = await receive()
            if message["type"] == "websocket.receive":
                messages_in.inc()
            return message

        async def observed_send(message: Message) -> None:
            nonlocal accepted
            kind = message["type"]
            if kind == "websocket.send":
                messages_out.inc()
            elif kind == "websocket.accept":
                accepted = True
                self._ws_active.inc()
                m.ws_connections.labels(*self.labels, route, "accepted").inc()
            elif kind == "websocket.close" and not accepted:
                m.ws_connections.labels(*self.labels, route, "rejected").inc()
            await send(message)

        try:
            await self.app(scope, observed_receive, observed_send)
        except Exception as exc:
            m.exceptions.labels(*self.labels, route, type(exc).__name__).inc()
            raise
        finally:
            if accepted:
                self._ws_active.dec()
                m.ws_session.labels(*self.labels, route).observe(perf_counter() - start)

    async def _lifespan(self, scope: Scope, receive: Any, send: Any) -> None:
        m = self.metrics
        started: dict[str, float] = {}
        pending: list[str] = []

        async def observed_receive() -> Message:
            message: Message = await receive()
            phase = message["type"].removeprefix("lifespan.")
            started[phase] = perf_counter()
            pending.append(phase)
            return message

        async def observed_send(message: Message) -> None:
            phase, _, outcome = message["type"].removeprefix("lifespan.").partition(".")
            if phase in started:
                m.lifespan_duration.labels(*self.labels, phase).set(perf_counter() - started[phase])
                m.lifespan.labels(*self.labels, phase, outcome).inc()
                if phase in pending:
                    pending.remove(phase)
            await send(message)

        try:
            await self.app(scope, observed_receive, observed_send)
        except Exception:
            for phase in pending:
                m.lifespan.labels(*self.labels, phase, "error").inc()
            raise

    async def _serve_metrics(self, scope: Scope, send: Any) -> None:
        headers = dict(scope.get("headers") or [])
        accept = headers.get(b"accept", b"").decode("latin-1")
        accept_encoding = headers.get(b"accept-encoding", b"").decode("latin-1")
        loop = asyncio.get_running_loop()
        # Rendering ~150 series takes milliseconds: keep it off the event loop.
        body, response_headers = await loop.run_in_executor(
            None, render, self.registry, self.multiproc_dir, accept, accept_encoding
        )
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
