"""What a workload's answers must be, checked before any load (the verify step).

Each built-in workload lists its :class:`Expect` values in its table entry
(:mod:`asgi_bench.workloads`); :mod:`asgi_bench.run.verify` sends each request on a raw
HTTP/1.1 connection and compares what came back, byte for byte where a body is given.

Example, the hello workload's check::

    Expect("/", content_type="text/html", body=b"Hello World")
    # status 200, Content-Length framing equal to the body, and the same GET as HEAD:
    # status and headers alike, no body
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Framing = Literal["length", "chunked", "any"]
# Bytes, or a function that makes them when the check runs (a 20 MiB upload is not built
# by every command that reads the workload table).
Bytes = bytes | Callable[[], bytes]


def made(value: Bytes) -> bytes:
    return value() if callable(value) else value


@dataclass(frozen=True)
class Expect:
    """One request and what its answer must be."""

    path: str = "/"
    content_type: str = ""  # the answer's Content-Type starts with it ("": any)
    body: Bytes | None = None  # the whole body; None: not compared
    status: int = 200
    # How the body is delimited: a Content-Length equal to what came (an app that sends its
    # whole body at once), chunked (an app that streams with more_body), or either.
    framing: Framing = "length"
    contains: bytes = b""  # for a body that varies: a part it must contain
    fields: tuple[tuple[str, object], ...] = ()  # ... or a JSON object's keys and values
    method: str = "GET"
    send: Bytes = b""  # the request's body (a POST)
    headers: tuple[tuple[bytes, bytes], ...] = ()  # request headers besides Host
    answer_headers: tuple[tuple[bytes, bytes], ...] = ()  # headers the answer must carry
    head: bool = True  # a GET is also asked as HEAD: the same status, no body

    def describe(self) -> str:
        return f"{self.method} {self.path}"


# Every built-in workload also answers a path it does not serve with 404.
NOT_FOUND = Expect("/asgi-bench-no-such-path", status=404, framing="any", head=False)
