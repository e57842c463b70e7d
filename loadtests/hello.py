"""Hello World: GET / and check every body; closed loop (``HelloUser``, as fast as possible)
or open model (``HelloOpen``, at a fixed rate)."""

from __future__ import annotations

from typing import Any

from locust import constant, task

from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.support import WrongBody

EXPECTED = b"Hello World"


class HelloUser(ClosedUser):
    wait_time = constant(0)

    @task
    def hello(self) -> None:
        with self.client.get("/", name="/", catch_response=True) as response:
            if response.status_code == 200 and response.content != EXPECTED:
                response.failure(WrongBody(f"got {response.content[:40]!r}"))


class HelloOpen(OpenUser):
    def call(self, client: Any) -> int:
        body = self.get(client, "/")
        if body != EXPECTED:
            raise WrongBody(f"got {body[:40]!r}")
        return len(body)
