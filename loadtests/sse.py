"""Server-Sent Events: a stream of ``SSE_EVENTS`` (10) events ``SSE_INTERVAL_MS`` (5) apart.

Events: ``GET /sse`` (the whole stream, counted), ``TTFB /sse`` (headers) and ``FIRST /sse``
(the first event, timed when it arrives, not at the end of a small stream). The events are
checked byte for byte. The stream's length is the app's own 45 ms of intervals.
"""

from __future__ import annotations

import os
import time

from locust import task

from asgi_bench.apps.streaming import sse_event
from asgi_bench.loadtests.support import Reported, StreamUser, WrongBody, fire

EVENTS = int(os.environ.get("SSE_EVENTS", "10"))
INTERVAL_MS = int(os.environ.get("SSE_INTERVAL_MS", "5"))
EXPECTED = b"".join(sse_event(i) for i in range(EVENTS))


class SseUser(StreamUser):
    @task
    def sse(self) -> None:
        started = time.perf_counter()
        try:
            body = self.stream("/sse", f"/sse?events={EVENTS}&interval_ms={INTERVAL_MS}")
        except Reported:
            return
        error = None
        if body != EXPECTED:
            error = WrongBody(f"{body.count(b'event: tick')} events, expected {EVENTS}")
        fire(self.environment, "GET", "/sse", started, len(body), error)
