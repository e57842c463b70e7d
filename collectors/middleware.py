"""``PrometheusMiddleware``: server-side metrics for any raw ASGI app, no framework needed.

Example::

    from asgi_bench.collectors.middleware import PrometheusMiddleware
    from asgi_bench.apps.hello import app as hello, ROUTES

    app = PrometheusMiddleware(hello, server="uvicorn", app_name="hello", routes=ROUTES)

It observes ``send`` and ``receive`` and never buffers a body, so streams, uploads,
WebSockets and lifespan pass through unchanged. When the app raises, a 500 is recorded and
the exception re-raised. The per-request path takes three clock readings and bumps a few
integers in a preallocated block (see :mod:`asgi_bench.collectors.store`); everything else
(Prometheus families, buckets, labels) is built only when scraped.

It answers two paths itself: ``GET /metrics`` (``metrics_path``), Prometheus text rendered
in a thread so the event loop keeps serving, and ``GET /metrics/state`` (``state_path``),
the JSON the harness reads at a window's edges. Route labels: a framework's matched route
template (Starlette and FastAPI put the route in ``scope["route"]``), else the ``routes``
table, else the raw path up to ``max_routes`` values (``raw_paths=False``: ``<unmatched>``
instead, for paths that carry secrets). Under several workers, set
``PROMETHEUS_MULTIPROC_DIR`` to a fresh directory before the workers start.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Iterable
from time import perf_counter, perf_counter_ns
from typing import Any

from mypy_extensions import mypyc_attr
from prometheus_client import CollectorRegistry, start_http_server

from asgi_bench.collectors.exposition import (
    merged_registry,
    registry_for_scrape,
    render,
    render_state,
)
from asgi_bench.collectors.families import StoreCollector
from asgi_bench.collectors.metrics import LATENCY_BUCKETS, Metrics
from asgi_bench.collectors.routes import RouteLabeler
from asgi_bench.collectors.store import (
    COUNT,
    HIST_A,
    HIST_B,
    MAX_NS,
    UNITS_IN,
    UNITS_OUT,
    LocalStore,
    SharedStore,
)
from asgi_bench.types import ASGIApp, Message, Receive, Scope, Send

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


# Compiled (collectors/compiled.py), it stays open to Python subclasses: collectors/calls.py.
@mypyc_attr(allow_interpreted_subclasses=True)
class PrometheusMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        server: str = "",
        app_name: str = "",
        routes: Iterable[str] | None = None,
        max_routes: int = 100,
        raw_paths: bool = True,
        metrics_path: str | None = "/metrics",
        state_path: str | None = "/metrics/state",
        metrics_port: int | None = None,
        registry: CollectorRegistry | None = None,
        buckets: tuple[float, ...] = LATENCY_BUCKETS,
    ) -> None:
        self.app = app
        self.metrics_path = metrics_path
        self.state_path = state_path
        self.multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = Metrics(self.registry)
        self.routes = RouteLabeler(routes, max_routes, raw_paths)
        self.labels = (server, app_name)
        self.store: LocalStore | SharedStore = (
            SharedStore(self.multiproc_dir) if self.multiproc_dir else LocalStore()
        )
        self._header = self.store.header
        # method -> path -> status -> block: three lookups of cached hashes per request,
        # where building and hashing a (route, method, status) key cost twice as much.
        self._fast: dict[str, dict[str, dict[int, Any]]] = {m: {} for m in KNOWN_METHODS}
        self.collector = StoreCollector(self.store, self.labels, buckets)
        if not self.multiproc_dir:
            self.registry.register(self.collector)  # type: ignore[arg-type]
        self._ws_active = self.metrics.ws_active.labels(*self.labels)
        if metrics_port is not None:
            # One listener per process: use with a single worker only.
            start_http_server(metrics_port, addr="127.0.0.1", registry=self.registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The HTTP path is written out here, not in a method: every call and coroutine level
        # saved is a fraction of a microsecond per request (see asgi-bench overhead).
        if scope["type"] != "http":
            await self._other(scope, receive, send)
            return
        path = scope["path"]
        if path == self.metrics_path or path == self.state_path:
            await self._serve(scope, send)
            return
        status = first = bytes_out = 0
        complete = False

        def observed_send(message: Message) -> Awaitable[None]:
            # A plain function handing back send's own awaitable: no coroutine of ours in
            # the way of every message.
            nonlocal status, first, bytes_out, complete
            kind = message["type"]
            if kind == "http.response.body":
                body = message.get("body")
                if body:
                    bytes_out += len(body)
                if not message.get("more_body"):
                    complete = True
            elif kind == "http.response.start":
                status = message["status"]
                first = perf_counter_ns()
            return send(message)

        method = scope["method"]
        counted = None
        if method in WITH_BODY:  # only a request that carries a body has bytes in to count
            receive = counted = _CountedReceive(receive)
        self._header[0] += 1  # started; finished is the sum of the series' counts
        if scope.get("http_version") == "2":
            self._header[1] += 1  # the protocol the server spoke, for the harness to check
        start = perf_counter_ns()
        try:
            await self.app(scope, receive, observed_send)
        except Exception as exc:
            status = 500
            label = self._label(scope)
            self.metrics.exceptions.labels(*self.labels, label, type(exc).__name__).inc()
            raise
        finally:
            # The app returns once its last chunk is sent: the end of the request.
            end = perf_counter_ns()
            if not complete and status != 500:
                # The app ended before the response did: the client went away.
                self.metrics.disconnects.labels(*self.labels, self._label(scope)).inc()
            paths = self._fast.get(method)
            statuses = paths.get(path) if paths is not None and "route" not in scope else None
            block = statuses.get(status) if statuses is not None else None
            if block is None:
                block = self._block(scope, method, status)
            # Integer nanoseconds throughout; the sums are read back from the histograms.
            duration = end - start
            ttfb = first - start if first else duration
            block[COUNT] += 1
            if counted is not None:
                block[UNITS_IN] += counted.bytes_in
            block[UNITS_OUT] += bytes_out
            # bucket() twice, inlined with plain comparisons (see collectors.store.bucket).
            if duration < 128:
                index = duration if duration > 0 else 0
            else:
                if duration > MAX_NS:
                    duration = MAX_NS
                shift = duration.bit_length() - 7
                index = (shift << 6) + (duration >> shift)
            block[HIST_A + index] += 1
            if ttfb < 128:
                index = ttfb if ttfb > 0 else 0
            else:
                if ttfb > MAX_NS:
                    ttfb = MAX_NS
                shift = ttfb.bit_length() - 7
                index = (shift << 6) + (ttfb >> shift)
            block[HIST_B + index] += 1

    async def _other(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, send: Send) -> None:
        if scope["path"] == self.metrics_path:
            await self._serve_metrics(scope, send)
        else:
            await self._serve_state(send)

    def _block(self, scope: Scope, method: str, status: int) -> Any:
        """The series of a request the fast table does not know yet (and remember it)."""
        if method not in KNOWN_METHODS:
            method = "OTHER"
        block = self.store.block((self._label(scope), method, status))
        path = scope["path"]
        # Raw paths are remembered only while the labeler caches them: bounded either way.
        if method != "OTHER" and "route" not in scope and path in self.routes.cache:
            self._fast[method].setdefault(path, {})[status] = block
        return block

    def _label(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:  # a framework matched one: its template, not the raw path
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            if isinstance(template, str):
                return self.routes.template(template)
        return self.routes.label(scope["path"])

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        m = self.metrics
        route = self.routes.label(scope["path"])
        block = self.store.block((route, "WS", 0))
        accepted = False
        waiting = 0.0  # when the message the app has not answered yet came in
        start = perf_counter()

        async def observed_receive() -> Message:
            nonlocal waiting
            message = await receive()
            if message["type"] == "websocket.receive":
                waiting = perf_counter()
                block[COUNT] += 1
                data = message.get("bytes") or message.get("text") or b""
                block[UNITS_IN] += len(data)
            return message

        async def observed_send(message: Message) -> None:
            nonlocal accepted, waiting
            kind = message["type"]
            if kind == "websocket.send":
                block[UNITS_OUT] += 1
                if waiting:
                    took = int((perf_counter() - waiting) * 1e9)
                    block[HIST_A + _bucket(took)] += 1
                    waiting = 0.0
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

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        m = self.metrics
        started: dict[str, float] = {}
        pending: list[str] = []

        async def observed_receive() -> Message:
            message = await receive()
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

    def _lifespan_source(self) -> Any:
        """The lifespan counter: this process's, or every worker's (merged from their files)."""
        if not self.multiproc_dir:
            return self.metrics.lifespan
        return merged_registry(self.multiproc_dir)

    def _scrape_registry(self) -> CollectorRegistry:
        return registry_for_scrape(self.registry, self.multiproc_dir, self.collector)

    async def _serve_metrics(self, scope: Scope, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        accept = headers.get(b"accept", b"").decode("latin-1")
        accept_encoding = headers.get(b"accept-encoding", b"").decode("latin-1")
        loop = asyncio.get_running_loop()
        # Rendering every family takes milliseconds: keep it off the event loop.
        body, response_headers = await loop.run_in_executor(
            None, lambda: render(self._scrape_registry(), accept, accept_encoding)
        )
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})

    async def _serve_state(self, send: Send) -> None:
        # Small (sparse histograms) and read twice per window: answered inline.
        # Only the lifespan counter is taken from prometheus-client (with several workers,
        # from their files), never rendered: rendering every family here would cost the
        # server milliseconds at each edge of a measured window.
        body = render_state(self.store, self._lifespan_source(), self.labels)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _CountedReceive:
    """``receive``, counting the request body's bytes as they arrive."""

    __slots__ = ("bytes_in", "receive")

    def __init__(self, receive: Receive) -> None:
        self.receive, self.bytes_in = receive, 0

    async def __call__(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.bytes_in += len(message.get("body", b""))
        return message


def _bucket(ns: int) -> int:
    """The fine histogram bucket of ``ns`` (see :func:`asgi_bench.collectors.store.bucket`)."""
    if ns < 128:
        return ns if ns > 0 else 0
    if ns > MAX_NS:
        ns = MAX_NS
    shift = ns.bit_length() - 7
    return (shift << 6) + (ns >> shift)
