"""Closed-loop users: each sends its next request when the last one is answered.

A closed-loop user speaks through the same lean keep-alive client as the open model
(:mod:`asgi_bench.loadtests.rawhttp`, or :mod:`~asgi_bench.loadtests.rawh2` for an HTTP/2
step: :mod:`~asgi_bench.loadtests.client` picks; over HTTP/1.1 the same request bytes, a
``Host`` header and nothing else, about 25 µs of driver CPU a request where
geventhttpclient spent about 130), so the two load shapes differ only in *when* requests
are sent. A workload writes one :meth:`~asgi_bench.loadtests.rawhttp.Requests.call` and
mixes it into both::

    class Hello:
        def call(self, client): ...
    class HelloUser(Hello, ClosedUser): ...   # closed loop
    class HelloOpen(Hello, OpenUser): ...     # open model

A request still waiting for its answer when the test stops (Locust kills the users that
have not finished after ``--stop-timeout``) is counted as *unfinished*, a failure, as the
open model counts its own: without it, a server that hangs mid-window would leave nothing
behind, and the row would report only the requests that happened to finish.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import gevent
from gevent import GreenletExit
from locust import User, constant, task
from locust.user.task import LOCUST_STATE_RUNNING

from asgi_bench.loadtests import split_host
from asgi_bench.loadtests.client import connect
from asgi_bench.loadtests.rawhttp import Requests
from asgi_bench.loadtests.recorder import RECORDER


@contextmanager
def unfinished_if_killed() -> Iterator[None]:
    """Around one counted request of a closed-loop user: killed at the stop while it waits
    for the server, it is unfinished (the streaming and WebSocket users use it too)."""
    try:
        yield
    except GreenletExit:
        RECORDER.unfinished(1)
        raise


class ClosedUser(Requests, User):
    abstract = True
    wait_time = constant(0)
    name = "/"  # the request event's name
    request_type = "GET"

    def on_start(self) -> None:
        self.prefix = split_host(self.host or "")[3]
        self.connection = connect(self.host or "")

    def on_stop(self) -> None:
        self.connection.close()

    @task
    def loop(self) -> None:
        """Request after request until the user is asked to stop: one Locust task for the
        whole test, not one per request (its task machinery and the ``sleep(0)`` of
        ``wait_time`` cost a tenth of the driver's time on a hello request)."""
        while self._state == LOCUST_STATE_RUNNING:
            self.one()

    def one(self) -> None:
        started = time.perf_counter()
        length, error = 0, None
        try:
            length = self.call(self.connection)
        except GreenletExit:  # as unfinished_if_killed(), without a context manager's cost
            RECORDER.unfinished(1)
            raise
        except Exception as exc:
            error = exc
            self.connection.close()  # a failed connection is not reused (HTTP/2: our share)
            self.connection = connect(self.host or "")
            gevent.sleep(0)  # a request that fails before any wait must not starve the rest
        self.environment.events.request.fire(
            request_type=self.request_type,
            name=self.name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=error,
            context={},
        )
