"""The default Locust file for a user's own app: GET / and expect a 2xx; closed loop
(``DefaultUser``) or open model (``DefaultOpen``)."""

from __future__ import annotations

from typing import Any

from locust import constant, task

from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser


class DefaultUser(ClosedUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/", name="/")


class DefaultOpen(OpenUser):
    def call(self, client: Any) -> int:
        return len(self.get(client, "/"))
