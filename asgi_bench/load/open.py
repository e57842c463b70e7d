"""Open model: requests start at a fixed offered rate, however fast answers come back.

This is the comparison wrk2, k6's arrival-rate executors and Nighthawk make: every server
gets the same rate, latency is measured from each request's *intended* start (so a stall is
charged to every request that should have been sent during it), and the CPU each server
spent per request at that rate is comparable. One scheduler runs per driver process, each
offering its share of the rate; see ``loadtests/openloop.py`` for the Locust side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from asgi_bench import envvars
from asgi_bench.load.http import H1, Http
from asgi_bench.types import LoadShape

ARRIVALS = ("constant", "poisson")
LATE_MS = 1.0  # an arrival sent later than this after its intended time is "late"
# gevent's default libev backend (epoll) rounds every timer up to whole milliseconds: arrivals
# would leave up to 1 ms late, and the corrected latency of a 1 ms server would read ~1.5 ms.
# select() takes microseconds (measured here: lag p99 0.14-0.6 ms up to 10,000 arrivals/s),
# at the price of a wake-up per arrival; it handles at most 1024 descriptors, hence MAX_SLOTS.
BACKEND = {"GEVENT_BACKEND": "select"}
MAX_SLOTS = 900


@dataclass(frozen=True)
class Open:
    rate: float  # offered requests per second, all driver processes together
    arrival: str = "constant"
    slots: int = 0  # connection slots per driver process; 0: enough for 100 ms at the rate
    http: Http = H1  # HTTP/2: the slots share connections, ``http.streams`` to each

    kind: ClassVar[LoadShape] = "open"

    @property
    def id(self) -> str:
        suffix = "-poisson" if self.arrival == "poisson" else ""
        return f"open-{self.rate:g}rps{suffix}{self.http.suffix}"

    def describe(self) -> str:
        said = f"{self.rate:g} req/s offered, {self.arrival} arrivals"
        return f"{said}, {self.http.describe()}" if self.http.h2 else said

    def per_process(self, processes: int) -> tuple[float, int]:
        """(rate, connection slots) of one driver process."""
        rate = self.rate / max(1, processes)
        # Enough slots for the rate at 100 ms of latency: a server that answers faster
        # uses fewer (slots are reused last-in first-out), a stall queues behind them.
        slots = self.slots or max(16, math.ceil(rate * 0.1))
        return rate, min(slots, MAX_SLOTS)

    def locust_args(self, processes: int) -> list[str]:
        rate, slots = self.per_process(processes)
        return [
            "--users",
            str(processes),  # one scheduler per process
            "--spawn-rate",
            str(processes),
            "--asgi-bench-rate",
            f"{rate:g}",
            "--asgi-bench-arrival",
            self.arrival,
            "--asgi-bench-concurrency",
            str(slots),
            "--asgi-bench-late-ms",
            f"{LATE_MS:g}",
        ]

    def environment(self) -> dict[str, str]:
        return {envvars.LOAD: self.kind, **BACKEND, **self.http.environment()}

    def concurrency(self, processes: int) -> int:
        return self.per_process(processes)[1] * max(1, processes)
