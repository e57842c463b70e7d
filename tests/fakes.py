"""Fakes of a measurement's resources: the lifecycle in milliseconds, no process started.

Each fake logs when it opens and closes into a shared list, and can be told to raise at one
named point, so a test can prove that every resource is released whatever fails.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType

from asgi_bench.results.layout import RepeatLayout
from asgi_bench.run.capabilities import Observation
from asgi_bench.run.plan import Job
from asgi_bench.run.samplers import Sampler
from asgi_bench.run.state import ServerState
from asgi_bench.servers import get_server
from asgi_bench.verdict.client import ClientStats, DriverProcess, Window
from asgi_bench.workloads import get_workload

WINDOW = Window(1000.0, 1002.0)


class Boom(Exception):
    """What a fake raises when told to."""


@dataclass
class Script:
    log: list[str] = field(default_factory=list)
    fail_at: str = ""  # one of the points below, or ""
    problem: str | None = None
    client: ClientStats | None = None
    observations: list[Observation] = field(default_factory=list)  # what the probes saw
    over_h2: int | None = None  # of the 200 requests, those the app saw as HTTP/2 (None: untold)

    def point(self, name: str) -> None:
        self.log.append(name)
        if name == self.fail_at:
            raise Boom(f"boom at {name}")


class FakeSampler(Sampler):
    def __init__(self, script: Script) -> None:
        super().__init__(interval=3600)
        self.script = script

    def read(self) -> tuple[float, int, int, str] | None:
        return (0.0, 0, 1, "rss")

    def start(self) -> Sampler:
        self.script.point("sampler start")
        return self

    def stop(self) -> None:
        self.script.point("sampler stop")


class FakeServer:
    def __init__(self, script: Script, job: Job) -> None:
        self.script = script
        self.spec, self.workload = job.spec, job.workload
        self.notes: list[str] = []
        self.base_url = "http://127.0.0.1:1"
        self.metrics_url = self.base_url + "/metrics"
        self.route_prefix = ""

    def __enter__(self) -> FakeServer:
        self.script.point("server start")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.script.point("server stop")

    def mark_load_start(self) -> None:
        self.script.point("mark load start")

    def problem(self) -> str | None:
        return self.script.problem

    def log_tail(self) -> str:
        return ""

    def sampler(self) -> Sampler | None:
        return FakeSampler(self.script)

    def shutdown_observed(self) -> bool | None:
        return None

    def close(self) -> None:
        return None


class FakeDriver:
    def __init__(self, script: Script) -> None:
        self.script = script

    def __enter__(self) -> FakeDriver:
        self.script.point("driver start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.script.point("driver stop")

    def window(self) -> Window:
        self.script.point("window")
        return WINDOW

    def wait(self) -> None:
        self.script.point("driver wait")


class FakeCounters:
    """The baseline (drained), then the window's start and end (read): 200 requests in
    between, and 200 when drained at the end."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.raw: list[dict[str, object]] = []
        self.failures: list[str] = []
        self.served = iter([0, 0, 200])

    def read(self, since: float | None = None) -> ServerState | None:
        self.script.point("counters read")
        return self._state(next(self.served, 200))

    def read_at(self, t: float) -> ServerState | None:
        return self.read()

    def drained(self) -> ServerState | None:
        self.script.point("counters drained")
        return self._state(next(self.served, 200))

    def _state(self, served: int) -> ServerState:
        state = ServerState(0.0, requests=served, ok_requests=served)
        if self.script.over_h2 is not None:
            state.started, state.started_h2 = served, self.script.over_h2 * served // 200
        return state


class FakeResources:
    def __init__(self, script: Script) -> None:
        self.script = script

    def server(self, job: Job, layout: RepeatLayout) -> FakeServer:
        return FakeServer(self.script, job)

    def probe(self, server: object, job: Job) -> list[Observation]:
        self.script.point("probe")
        return list(self.script.observations)

    def counters(self, server: object, job: Job, layout: RepeatLayout) -> FakeCounters:
        return FakeCounters(self.script)

    def driver(self, job: Job, layout: RepeatLayout, server: object) -> FakeDriver:
        return FakeDriver(self.script)

    def client_stats(self, layout: RepeatLayout) -> ClientStats:
        self.script.point("client stats")
        return self.script.client or client(requests=200)

    def profiler(
        self, job: Job, layout: RepeatLayout, server: object, driver: object, start: float
    ) -> contextlib.AbstractContextManager[object]:
        return self._profiling()

    @contextlib.contextmanager
    def _profiling(self) -> Iterator[None]:
        self.script.point("profile start")
        try:
            yield
        finally:
            self.script.point("profile stop")


def client(requests: int = 200, failures: dict[str, int] | None = None) -> ClientStats:
    failed = failures or {"non_2xx": 0, "wrong_body": 0, "exceptions": 0}
    total = requests + sum(failed.values())
    return ClientStats(
        window=WINDOW,
        test_start=WINDOW.start - 1,
        requests=requests,
        failures=failed,
        latency_ms={"p50_ms": 1.0, "p90_ms": 2.0, "p99_ms": 3.0, "p999_ms": 4.0, "max_ms": 5.0},
        samples=requests,
        counted_window=total,
        completed_window=total,
        counted_total=total,
        locust_total=total,
        locust_window=total,
        processes=[DriverProcess("local", "local", "host", 0.5)],
        failures_total=dict(failed),
    )


def job(server: str = "uvicorn", app: str = "hello", users: int = 4, http: str = "1.1") -> Job:
    from asgi_bench.load.closed import Closed
    from asgi_bench.load.http import Http

    step = Closed(users, 100.0, Http(http, streams=4))
    return Job(get_server(server), get_workload(app), step, 1, 0)
