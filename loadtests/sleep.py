"""Known latency: GET /sleep?ms=N on the hello app. Measured latency must sit just above N.

``ASGI_BENCH_SLEEP_MS`` sets N (default 20).
"""

from __future__ import annotations

import os
from typing import Any

from locust import constant, task

from asgi_bench import envvars
from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser

SLEEP_MS = int(os.environ.get(envvars.SLEEP_MS, "20"))


class SleepUser(ClosedUser):
    wait_time = constant(0)

    @task
    def sleep(self) -> None:
        self.client.get(f"/sleep?ms={SLEEP_MS}", name="/sleep")


class SleepOpen(OpenUser):
    name = "/sleep"

    def call(self, client: Any) -> int:
        return len(self.get(client, f"/sleep?ms={SLEEP_MS}"))
