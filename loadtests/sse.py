"""Server-Sent Events: a stream of ``SSE_EVENTS`` (10) events ``SSE_INTERVAL_MS`` (5) apart.

Events: ``GET /sse`` (the whole stream, counted), ``TTFB /sse`` (headers) and ``FIRST /sse``
(the first event, timed when it arrives, not at the end of a small stream). The events are
checked byte for byte. The stream's length is the app's own 45 ms of intervals. Closed loop:
``SseUser``; open model: ``SseOpen``.
"""

from __future__ import annotations

import os

from asgi_bench.apps.streaming import sse_event
from asgi_bench.loadtests.streams import StreamOpen, StreamUser
from asgi_bench.loadtests.support import WrongBody

EVENTS = int(os.environ.get("SSE_EVENTS", "10"))
INTERVAL_MS = int(os.environ.get("SSE_INTERVAL_MS", "5"))
EXPECTED = b"".join(sse_event(i) for i in range(EVENTS))


class Sse:
    """What both users GET, and how they check it: the events byte for byte."""

    name = "/sse"
    path = f"/sse?events={EVENTS}&interval_ms={INTERVAL_MS}"

    def check(self, body: bytes) -> WrongBody | None:
        if body != EXPECTED:
            return WrongBody(f"{body.count(b'event: tick')} events, expected {EVENTS}")
        return None


class SseUser(Sse, StreamUser):
    """Closed loop."""


class SseOpen(Sse, StreamOpen):
    """Open model."""
