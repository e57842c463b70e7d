"""Closed-loop users: each sends its next request when the last one is answered.

:class:`ClosedUser` is Locust's ``FastHttpUser`` with one addition: a request still waiting
for its answer when the test stops (Locust kills users that have not finished after
``--stop-timeout``) is counted as *unfinished*, a failure, as the open model counts its
own. Without it, a server that hangs mid-window would leave nothing behind: its users'
requests vanish with them, and the row would report the requests that happened to finish.
"""

from __future__ import annotations

from typing import Any

from gevent import GreenletExit
from locust import FastHttpUser

from asgi_bench.loadtests import COUNTED_TYPES
from asgi_bench.loadtests.recorder import RECORDER


class ClosedUser(FastHttpUser):
    abstract = True

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        request = self.client.request

        def counted(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            try:
                return request(method, url, *args, **kwargs)
            except GreenletExit:  # killed at the stop, still waiting for the server
                if method.upper() in COUNTED_TYPES:
                    RECORDER.unfinished(1)
                raise

        # The session's get() and post() call self.request: this instance's wins.
        self.client.request = counted  # type: ignore[method-assign]
