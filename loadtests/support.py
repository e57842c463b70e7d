"""Shared pieces of the Locust files: body checks and manual request events (streamed GETs:
:mod:`asgi_bench.loadtests.streams`).

Imported by the Locust files and the recorder, inside Locust's processes; it imports
neither locust nor gevent, so its exceptions can be named anywhere.
"""

from __future__ import annotations

import time
from typing import Any


class WrongBody(Exception):
    """The server answered 2xx with a body that is not what the app sends."""


class BadStatus(Exception):
    """A non-2xx answer to a request that was timed by hand."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


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
