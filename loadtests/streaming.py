"""Streaming: a chunked body (100 x 1 KiB by default), timed in three parts.

Each stream reports three request events:

* ``GET /chunked``: the full body; the counted request;
* ``TTFB /chunked``: time to the response headers;
* ``FIRST /chunked``: time to the first body chunk.

Bodies are read chunk by chunk (urllib3's ``read_chunked``), not in 1 KiB blocks. The byte
count is checked against what the app sends. Settings (environment): ``STREAM_CHUNKS``
(100), ``STREAM_CHUNK_SIZE`` (1024).
"""

from __future__ import annotations

import os
import time

from locust import task

from asgi_bench.apps.streaming import chunk_payload
from asgi_bench.loadtests.support import Reported, StreamUser, WrongBody, fire

CHUNKS = int(os.environ.get("STREAM_CHUNKS", "100"))
CHUNK_SIZE = int(os.environ.get("STREAM_CHUNK_SIZE", "1024"))
EXPECTED = sum(len(chunk_payload(i, CHUNK_SIZE)) for i in range(CHUNKS))


class ChunkedUser(StreamUser):
    @task
    def chunked(self) -> None:
        started = time.perf_counter()
        try:
            body = self.stream("/chunked", f"/chunked?chunks={CHUNKS}&size={CHUNK_SIZE}")
        except Reported:
            return
        error = (
            None if len(body) == EXPECTED else WrongBody(f"{len(body)} bytes, expected {EXPECTED}")
        )
        fire(self.environment, "GET", "/chunked", started, len(body), error)
