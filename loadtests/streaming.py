"""Streaming: a chunked body and a Server-Sent Events stream, timed in three parts.

Each stream reports three request events:

* ``GET /chunked`` (or ``/sse``): the full body; the counted request;
* ``TTFB /chunked``: time to the response headers;
* ``FIRST /chunked``: time to the first body chunk (first event for SSE).

Bodies are read chunk by chunk (urllib3's ``read_chunked``), not in 1 KiB blocks, so the
first SSE event is timed when it arrives rather than at the end of a small stream. The byte
count (and for SSE the event count) is checked against what the app sends.

Settings (environment): ``STREAM_CHUNKS`` (100), ``STREAM_CHUNK_SIZE`` (1024),
``SSE_EVENTS`` (10), ``SSE_INTERVAL_MS`` (5).
"""

from __future__ import annotations

import os
import time
from typing import Any

import urllib3
from locust import User, constant, task

from asgi_bench.apps.streaming import chunk_payload, sse_event
from asgi_bench.loadtests.support import BadStatus, WrongBody, fire, split_host

CHUNKS = int(os.environ.get("STREAM_CHUNKS", "100"))
CHUNK_SIZE = int(os.environ.get("STREAM_CHUNK_SIZE", "1024"))
SSE_EVENTS = int(os.environ.get("SSE_EVENTS", "10"))
SSE_INTERVAL_MS = int(os.environ.get("SSE_INTERVAL_MS", "5"))

EXPECTED_CHUNKED = sum(len(chunk_payload(i, CHUNK_SIZE)) for i in range(CHUNKS))
EXPECTED_SSE = b"".join(sse_event(i) for i in range(SSE_EVENTS))


def connection_pool(host: str) -> urllib3.HTTPConnectionPool:
    scheme, hostname, port, _ = split_host(host)
    if scheme == "https":
        # The harness's certificate is self-signed and made at run time.
        return urllib3.HTTPSConnectionPool(hostname, port, maxsize=1, cert_reqs="CERT_NONE")
    return urllib3.HTTPConnectionPool(hostname, port, maxsize=1)


class StreamingUser(User):
    wait_time = constant(0)

    def on_start(self) -> None:
        urllib3.disable_warnings()
        self.pool = connection_pool(self.host or "")
        self.prefix = split_host(self.host or "")[3]

    def on_stop(self) -> None:
        self.pool.close()

    def stream(self, name: str, url: str) -> tuple[bytes, int]:
        """GET ``url`` and time it in three parts; return the body and its chunk count."""
        started = time.perf_counter()
        chunks: list[bytes] = []
        try:
            response: Any = self.pool.urlopen(
                "GET", self.prefix + url, preload_content=False, retries=False
            )
            fire(self.environment, "TTFB", name, started)
            if response.status != 200:
                response.drain_conn()
                raise BadStatus(response.status)
            for chunk in response.read_chunked(decode_content=False):
                if not chunks:
                    fire(self.environment, "FIRST", name, started, len(chunk))
                chunks.append(chunk)
            response.release_conn()
        except Exception as exc:
            fire(self.environment, "GET", name, started, exception=exc)
            raise _Reported() from exc
        return b"".join(chunks), len(chunks)

    @task
    def chunked(self) -> None:
        started = time.perf_counter()
        try:
            body, _ = self.stream("/chunked", f"/chunked?chunks={CHUNKS}&size={CHUNK_SIZE}")
        except _Reported:
            return
        error = None
        if len(body) != EXPECTED_CHUNKED:
            error = WrongBody(f"{len(body)} bytes, expected {EXPECTED_CHUNKED}")
        fire(self.environment, "GET", "/chunked", started, len(body), error)

    @task
    def sse(self) -> None:
        started = time.perf_counter()
        try:
            body, _ = self.stream("/sse", f"/sse?events={SSE_EVENTS}&interval_ms={SSE_INTERVAL_MS}")
        except _Reported:
            return
        error = None
        if body != EXPECTED_SSE:
            error = WrongBody(f"{body.count(b'event: tick')} events, expected {SSE_EVENTS}")
        fire(self.environment, "GET", "/sse", started, len(body), error)


class _Reported(Exception):
    """The failure was already reported as a request event."""
