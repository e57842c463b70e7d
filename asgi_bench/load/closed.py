"""Closed loop: N users, each sending its next request as soon as the last one is answered.

At saturation the latency this shape reports is queue length (Little's law: p50 is about
users / throughput), and a stall is recorded once per user instead of once per request that
should have been sent. Use it for peak throughput; compare latency with ``open``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from asgi_bench import envvars
from asgi_bench.load.http import H1, Http
from asgi_bench.types import LoadShape


@dataclass(frozen=True)
class Closed:
    users: int
    spawn_rate: float
    http: Http = H1

    kind: ClassVar[LoadShape] = "closed"

    @property
    def id(self) -> str:
        return f"closed-{self.users}u{self.http.suffix}"

    def describe(self) -> str:
        said = f"{self.users} users, closed loop"
        return f"{said}, {self.http.describe()}" if self.http.h2 else said

    def locust_args(self, processes: int) -> list[str]:
        return ["--users", str(self.users), "--spawn-rate", f"{self.spawn_rate:g}"]

    def environment(self) -> dict[str, str]:
        return {envvars.LOAD: self.kind, **self.http.environment()}

    def concurrency(self, processes: int) -> int:
        return self.users
