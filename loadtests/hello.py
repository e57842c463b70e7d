"""Hello World: GET / as fast as possible, checking every body."""

from __future__ import annotations

from locust import FastHttpUser, constant, task

from asgi_bench.loadtests.support import WrongBody

EXPECTED = b"Hello World"


class HelloUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def hello(self) -> None:
        with self.client.get("/", name="/", catch_response=True) as response:
            if response.status_code == 200 and response.content != EXPECTED:
                response.failure(WrongBody(f"got {response.content[:40]!r}"))
