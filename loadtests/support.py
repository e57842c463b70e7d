"""Shared pieces of the Locust files: body checks, manual request events, streamed GETs.

Imported by Locust files only: it imports locust, which patches its process with gevent.
"""

from __future__ import annotations

import json
import time
from typing import Any

import urllib3
from locust import User, constant

from asgi_bench.loadtests import split_host


class WrongBody(Exception):
    """The server answered 2xx with a body that is not what the app sends."""


class BadStatus(Exception):
    """A non-2xx answer to a request that was timed by hand."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def json_answer(response: Any) -> Any:
    """The JSON body of a 200 inside ``catch_response``; None (and the failure recorded)
    when it is not a 200 or not JSON. A non-2xx is already a failure for Locust."""
    if response.status_code != 200:
        return None
    try:
        return json.loads(response.content or b"")
    except ValueError:
        response.failure(WrongBody("not JSON"))
        return None


def fire(
    environment: Any,
    request_type: str,
    name: str,
    started: float,
    length: int = 0,
    exception: BaseException | None = None,
) -> None:
    """Report one timing that was measured by hand; ``started`` is a perf_counter() value."""
    environment.events.request.fire(
        request_type=request_type,
        name=name,
        response_time=(time.perf_counter() - started) * 1000,
        response_length=length,
        exception=exception,
        context={},
    )


class Reported(Exception):
    """The failure was already reported as a request event."""


def connection_pool(host: str, size: int = 1) -> urllib3.HTTPConnectionPool:
    scheme, hostname, port, _ = split_host(host)
    if scheme == "https":
        # The harness's certificate is self-signed and made at run time.
        return urllib3.HTTPSConnectionPool(hostname, port, maxsize=size, cert_reqs="CERT_NONE")
    return urllib3.HTTPConnectionPool(hostname, port, maxsize=size)


def stream_get(environment: Any, pool: urllib3.HTTPConnectionPool, path: str, name: str) -> bytes:
    """GET ``path`` chunk by chunk (urllib3's ``read_chunked``, not 1 KiB blocks), firing
    ``TTFB name`` at the headers and ``FIRST name`` at the first chunk; returns the body.
    A non-2xx answer raises :class:`BadStatus`."""
    started = time.perf_counter()
    chunks: list[bytes] = []
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
