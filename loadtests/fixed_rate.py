"""Hello World at a fixed offered rate, for cost comparisons at equal load.

``ASGI_BENCH_RATE_PER_USER`` (requests/s per user) sets the pace; the harness divides the
total rate by the user count. Closed loop: a stalled server gets fewer requests, so use
this for CPU cost at equal load, not for tail latency.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant_throughput, task

from asgi_bench import envvars

RATE_PER_USER = float(os.environ.get(envvars.RATE_PER_USER, "100"))


class FixedRateUser(FastHttpUser):
    wait_time = constant_throughput(RATE_PER_USER)

    @task
    def hello(self) -> None:
        self.client.get("/", name="/")
