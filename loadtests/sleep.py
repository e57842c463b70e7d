"""Known latency: GET /sleep?ms=N on the hello app. Measured latency must sit just above N.

``ASGI_BENCH_SLEEP_MS`` sets N (default 20).
"""

from __future__ import annotations

import os
from typing import Any

from asgi_bench import envvars
from asgi_bench.loadtests.closedloop import ClosedUser
from asgi_bench.loadtests.openloop import OpenUser
from asgi_bench.loadtests.rawhttp import Requests

SLEEP_MS = int(os.environ.get(envvars.SLEEP_MS, "20"))


class Sleep(Requests):
    name = "/sleep"

    def call(self, client: Any) -> int:
        return len(self.get(client, f"/sleep?ms={SLEEP_MS}"))


class SleepUser(Sleep, ClosedUser):
    pass


class SleepOpen(Sleep, OpenUser):
    pass
