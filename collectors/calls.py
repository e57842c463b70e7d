"""``CallTimingMiddleware``: the Prometheus middleware, and the split of a request's time in
the app between the app's own work and the awaits of the server's ``send`` and ``receive``.

The in-app time the middleware records runs from the app's call to its return, which
includes every ``await send(...)``: uvicorn writes the answer to the socket inside ``send``
(11.3 µs of an in-app p50 in a closed-loop hello run), granian queues it and returns at once
(1.3 µs). So in-app time compares apps under one server, not servers. This subclass also
times those awaits and records, per request, the app's own time (in-app minus the awaits)
and the time inside the server's calls: the app's own time is what compares across servers.

Timing every await costs two clock readings and a coroutine level per message, so it runs
only where asked (``--profile``, by ``ASGI_BENCH_TIME_CALLS=1``; see
:mod:`asgi_bench.collectors.wrapped`): the default path stays the plain middleware's.

Its figures are a series of the store per route and status with method ``ASGI`` (as
``WS`` is a WebSocket route's): ``a`` the app's own time, ``b`` the time inside the server's
calls. It is not a request: counts and Prometheus's families leave it out.
"""

from __future__ import annotations

from time import perf_counter_ns

from asgi_bench.collectors.middleware import PrometheusMiddleware
from asgi_bench.collectors.store import COUNT, HIST_A, HIST_B, bucket
from asgi_bench.types import Message, Receive, Scope, Send

CALLS = "ASGI"  # the method of the split's series


class CallTimingMiddleware(PrometheusMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path == self.metrics_path or path == self.state_path:
            await super().__call__(scope, receive, send)
            return
        inside = status = 0

        async def timed_send(message: Message) -> None:
            nonlocal inside, status
            if message["type"] == "http.response.start":
                status = message["status"]
            started = perf_counter_ns()
            await send(message)
            inside += perf_counter_ns() - started

        async def timed_receive() -> Message:
            nonlocal inside
            started = perf_counter_ns()
            message = await receive()
            inside += perf_counter_ns() - started
            return message

        started = perf_counter_ns()
        try:
            await super().__call__(scope, timed_receive, timed_send)
        except Exception:
            status = 500
            raise
        finally:
            took = perf_counter_ns() - started
            block = self.store.block((self._label(scope), CALLS, status))
            block[COUNT] += 1
            block[HIST_A + bucket(took - inside)] += 1
            block[HIST_B + bucket(inside)] += 1
