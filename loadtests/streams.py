"""Streamed GETs (chunked bodies, Server-Sent Events), timed in three parts, for both load
shapes. A workload's Locust file says what to GET and how to check the body, and gets a
closed-loop and an open-model user from one class::

    class Sse:
        name, path = "/sse", "/sse?events=10&interval_ms=5"

        def check(self, body: bytes) -> WrongBody | None:
            return None if body == EXPECTED else WrongBody("...")


    class SseUser(Sse, StreamUser): ...  # closed loop
    class SseOpen(Sse, StreamOpen): ...  # open model: one urllib3 connection per slot

Each stream fires ``GET name`` (the whole body, the counted request), ``TTFB name`` (the
headers) and ``FIRST name`` (the first chunk). Imported by Locust files only.
"""

from __future__ import annotations

import os
import time
from typing import Any, cast

import urllib3
from locust import User, constant, task

from asgi_bench import envvars
from asgi_bench.loadtests import split_host
from asgi_bench.loadtests.client import connect
from asgi_bench.loadtests.closedloop import unfinished_if_killed
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawh2 import H2Connection
from asgi_bench.loadtests.support import BadStatus, WrongBody, fire


class Reported(Exception):
    """The failure was already reported as a request event."""


def connection_pool(host: str, size: int = 1) -> urllib3.HTTPConnectionPool | H2Connection:
    """urllib3's pool for HTTP/1.1; for an HTTP/2 step, a share of an HTTP/2 connection."""
    if os.environ.get(envvars.HTTP) == "2":
        return cast(H2Connection, connect(host))
    scheme, hostname, port, _ = split_host(host)
    if scheme == "https":
        # The harness's certificate is self-signed and made at run time.
        return urllib3.HTTPSConnectionPool(hostname, port, maxsize=size, cert_reqs="CERT_NONE")
    return urllib3.HTTPConnectionPool(hostname, port, maxsize=size)


def stream_get(
    environment: Any, pool: urllib3.HTTPConnectionPool | H2Connection, path: str, name: str
) -> bytes:
    """GET ``path`` chunk by chunk (urllib3's ``read_chunked``, not 1 KiB blocks; over
    HTTP/2, DATA frame by DATA frame), firing ``TTFB name`` at the headers and ``FIRST name``
    at the first chunk; returns the body. A non-2xx answer raises :class:`BadStatus`."""
    started = time.perf_counter()
    chunks: list[bytes] = []
    if isinstance(pool, H2Connection):

        def on_data(chunk: bytes) -> None:
            if not chunks:
                fire(environment, "FIRST", name, started, len(chunk))
            chunks.append(chunk)

        status, body = pool.request(
            b"GET",
            path.encode(),
            on_headers=lambda _: fire(environment, "TTFB", name, started),
            on_data=on_data,
        )
        if status != 200:
            raise BadStatus(status)
        return body
    response: Any = pool.urlopen("GET", path, preload_content=False, retries=False)
    fire(environment, "TTFB", name, started)
    if response.status != 200:
        response.drain_conn()
        raise BadStatus(response.status)
    for chunk in response.read_chunked(decode_content=False):
        if not chunks:
            fire(environment, "FIRST", name, started, len(chunk))
        chunks.append(chunk)
    response.release_conn()
    return b"".join(chunks)


class StreamUser(User):
    """A closed-loop user that GETs streamed bodies (see :func:`stream_get`)."""

    abstract = True
    wait_time = constant(0)
    name = ""  # the request name of its events: GET, TTFB and FIRST
    path = ""  # what to GET, with its query, under the host's prefix

    def on_start(self) -> None:
        urllib3.disable_warnings()
        self.pool = connection_pool(self.host or "")
        self.prefix = split_host(self.host or "")[3]

    def on_stop(self) -> None:
        self.pool.close()

    def stream(self, name: str, url: str) -> bytes:
        """:func:`stream_get`; a failure is fired as ``GET name`` and raised as
        :class:`Reported`."""
        started = time.perf_counter()
        try:
            return stream_get(self.environment, self.pool, self.prefix + url, name)
        except Exception as exc:
            fire(self.environment, "GET", name, started, exception=exc)
            raise Reported() from exc

    def check(self, body: bytes) -> WrongBody | None:
        """None when ``body`` is what the app sends, else what is wrong with it."""
        raise NotImplementedError

    @task
    def fetch(self) -> None:
        started = time.perf_counter()
        try:
            with unfinished_if_killed():
                body = self.stream(self.name, self.path)
        except Reported:
            return
        fire(self.environment, "GET", self.name, started, len(body), self.check(body))


class StreamOpen(OpenUser):
    """An open-model user that GETs streamed bodies: one urllib3 connection per slot (over
    HTTP/2, a share of a connection)."""

    abstract = True
    path = ""  # what to GET, with its query, under the host's prefix

    def check(self, body: bytes) -> WrongBody | None:
        """None when ``body`` is what the app sends, else what is wrong with it."""
        raise NotImplementedError

    def connect(self) -> Any:
        self.prefix = split_host(self.host or "")[3]
        return connection_pool(self.host or "")

    def call(self, client: Any) -> int:
        body = stream_get(self.environment, client, self.prefix + self.path, self.name)
        error = self.check(body)
        if error:
            raise error
        return len(body)
