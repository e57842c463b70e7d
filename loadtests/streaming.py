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

from asgi_bench.apps.streaming import chunk_payload
from asgi_bench.loadtests.streams import StreamOpen, StreamUser
from asgi_bench.loadtests.support import WrongBody

CHUNKS = int(os.environ.get("STREAM_CHUNKS", "100"))
CHUNK_SIZE = int(os.environ.get("STREAM_CHUNK_SIZE", "1024"))
EXPECTED = sum(len(chunk_payload(i, CHUNK_SIZE)) for i in range(CHUNKS))


class Chunked:
    """What both users GET, and how they check it: the byte count the app sends."""

    name = "/chunked"
    path = f"/chunked?chunks={CHUNKS}&size={CHUNK_SIZE}"

    def check(self, body: bytes) -> WrongBody | None:
        if len(body) != EXPECTED:
            return WrongBody(f"{len(body)} bytes, expected {EXPECTED}")
        return None


class ChunkedUser(Chunked, StreamUser):
    """Closed loop."""


class ChunkedOpen(Chunked, StreamOpen):
    """Open model."""
