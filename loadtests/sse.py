"""Server-Sent Events: a stream of ``SSE_EVENTS`` (10) events ``SSE_INTERVAL_MS`` (5) apart.

Events: ``GET /sse`` (the whole stream, counted), ``TTFB /sse`` (headers) and ``FIRST /sse``
(the first event, timed when it arrives, not at the end of a small stream). The events are
checked byte for byte. The stream's length is the app's own 45 ms of intervals. Closed loop:
``SseUser``; open model: ``SseOpen``.
"""

from __future__ import annotations

import os
import time
from typing import Any

from locust import task

from asgi_bench.apps.streaming import sse_event
from asgi_bench.loadtests import split_host
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.support import (
    Reported,
    StreamUser,
    WrongBody,
    connection_pool,
    fire,
    stream_get,
)

EVENTS = int(os.environ.get("SSE_EVENTS", "10"))
INTERVAL_MS = int(os.environ.get("SSE_INTERVAL_MS", "5"))
EXPECTED = b"".join(sse_event(i) for i in range(EVENTS))
PATH = f"/sse?events={EVENTS}&interval_ms={INTERVAL_MS}"


def check(body: bytes) -> WrongBody | None:
    if body != EXPECTED:
        return WrongBody(f"{body.count(b'event: tick')} events, expected {EVENTS}")
    return None


class SseUser(StreamUser):
    @task
    def sse(self) -> None:
        started = time.perf_counter()
        try:
            body = self.stream("/sse", PATH)
        except Reported:
            return
        fire(self.environment, "GET", "/sse", started, len(body), check(body))


class SseOpen(OpenUser):
    """One urllib3 connection per slot."""

    name = "/sse"

    def connect(self) -> Any:
        self.prefix = split_host(self.host or "")[3]
        return connection_pool(self.host or "")

    def call(self, client: Any) -> int:
        body = stream_get(self.environment, client, self.prefix + PATH, self.name)
        error = check(body)
        if error:
            raise error
        return len(body)
