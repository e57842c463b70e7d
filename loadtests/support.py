"""Shared pieces of the Locust files: body checks and manual request events (streamed GETs:
:mod:`asgi_bench.loadtests.streams`).

Imported by the Locust files and the recorder, inside Locust's processes; it imports
neither locust nor gevent, so its exceptions can be named anywhere.
"""

from __future__ import annotations

import json
import time
from typing import Any


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
