"""The default Locust file for a user's own app: GET / and expect a 2xx."""

from __future__ import annotations

from locust import FastHttpUser, constant, task


class DefaultUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/", name="/")
