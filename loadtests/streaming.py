"""Streaming: a chunked body (100 x 1 KiB by default), timed in three parts.

Each stream reports three request events:

* ``GET /chunked``: the full body; the counted request;
* ``TTFB /chunked``: time to the response headers;
* ``FIRST /chunked``: time to the first body chunk.

Bodies are read chunk by chunk (urllib3's ``read_chunked``), not in 1 KiB blocks. The byte
count is checked against what the app sends. Closed loop: ``ChunkedUser``; open model:
``ChunkedOpen`` (TTFB and first chunk timed from the actual send). Settings (environment):
``STREAM_CHUNKS`` (100), ``STREAM_CHUNK_SIZE`` (1024).
"""

from __future__ import annotations

import os
import time
from typing import Any

from locust import task

from asgi_bench.apps.streaming import chunk_payload
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

CHUNKS = int(os.environ.get("STREAM_CHUNKS", "100"))
CHUNK_SIZE = int(os.environ.get("STREAM_CHUNK_SIZE", "1024"))
EXPECTED = sum(len(chunk_payload(i, CHUNK_SIZE)) for i in range(CHUNKS))
PATH = f"/chunked?chunks={CHUNKS}&size={CHUNK_SIZE}"


def check(body: bytes) -> WrongBody | None:
    if len(body) != EXPECTED:
        return WrongBody(f"{len(body)} bytes, expected {EXPECTED}")
    return None


class ChunkedUser(StreamUser):
    @task
    def chunked(self) -> None:
        started = time.perf_counter()
        try:
            body = self.stream("/chunked", PATH)
        except Reported:
            return
        fire(self.environment, "GET", "/chunked", started, len(body), check(body))


class ChunkedOpen(OpenUser):
    """One urllib3 connection per slot."""

    name = "/chunked"

    def connect(self) -> Any:
        self.prefix = split_host(self.host or "")[3]
        return connection_pool(self.host or "")

    def call(self, client: Any) -> int:
        body = stream_get(self.environment, client, self.prefix + PATH, self.name)
        error = check(body)
        if error:
            raise error
        return len(body)
