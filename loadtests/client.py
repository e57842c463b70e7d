"""The connection a built-in user speaks through: HTTP/1.1 (:mod:`rawhttp`, one per user or
slot) or, when the step asks for HTTP/2 (``ASGI_BENCH_HTTP=2``), a share of an HTTP/2
connection (:mod:`rawh2`) that ``ASGI_BENCH_STREAMS`` users or slots of this process
multiplex. Both answer ``request(method, path, body) -> (status, body)`` and ``close()``.
"""

from __future__ import annotations

import os

from asgi_bench import envvars
from asgi_bench.loadtests import split_host
from asgi_bench.loadtests.rawh2 import H2Connection, SharedH2
from asgi_bench.loadtests.rawhttp import Connection

_SHARED: dict[str, SharedH2] = {}  # per target URL, within one driver process


def connect(host: str) -> Connection | H2Connection:
    """A client for one user (or connection slot) of the target ``host`` URL."""
    scheme, hostname, port, _ = split_host(host)
    tls = scheme == "https"
    if os.environ.get(envvars.HTTP) != "2":
        return Connection(hostname, port, tls=tls)
    shared = _SHARED.get(host)
    if shared is None:
        streams = int(os.environ.get(envvars.STREAMS) or 1)
        shared = _SHARED[host] = SharedH2(hostname, port, tls, streams)
    return shared.take()
