"""One repeat's lifecycle: a fresh server, one load step, one measured window.

The phases, as uvicorn's ``Server`` names its own::

    startup    start the server (or attach to it) and wait until it is ready; probe what it
               can do (a server seen not to speak the step's protocol gets no load: the
               repeat is unsupported); check its answers (the verify step: one that differs
               gets no load, the repeat is failed); start the samplers; read the counters
               before any load
    main loop  start Locust; read the server's counters at the window's two edges; wait for
               Locust to end by itself; check the server is still the one that was ready;
               wait until the server has drained
    shutdown   every resource released in reverse order by one ExitStack, whatever failed
    judge      the status, decided in one place (:mod:`asgi_bench.verdict.judge`)

Resources come from a :class:`Resources` object, so the lifecycle can be tested with fakes
in milliseconds. Nothing is written to disk before every process is stopped.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from asgi_bench.errors import (
    DriverError,
    Interrupted,
    ServerDiedError,
    ServerStartError,
)
from asgi_bench.results.layout import RepeatLayout
from asgi_bench.run.capabilities import Observation
from asgi_bench.run.plan import Job
from asgi_bench.run.samplers import Sample, Sampler
from asgi_bench.run.server import Server
from asgi_bench.run.state import ServerState
from asgi_bench.verdict.client import ClientStats, Window
from asgi_bench.verdict.interference import cpu_times
from asgi_bench.verdict.judge import Facts


class Driver(Protocol):
    def window(self) -> Window: ...

    def wait(self) -> None: ...


class Counters(Protocol):
    """The server's own counters (the middleware), read at chosen moments."""

    failures: list[str]

    def read(self) -> ServerState | None: ...

    def read_at(self, t: float) -> ServerState | None: ...

    def drained(self) -> ServerState | None: ...


class Resources(Protocol):
    """Where a measurement gets its server, driver and collectors from."""

    def server(self, job: Job, layout: RepeatLayout) -> AbstractContextManager[Server]: ...

    def probe(self, server: Server, job: Job) -> list[Observation]: ...

    def counters(self, server: Server, job: Job, layout: RepeatLayout) -> Counters | None: ...

    def driver(
        self, job: Job, layout: RepeatLayout, server: Server
    ) -> AbstractContextManager[Driver]: ...

    def client_stats(self, layout: RepeatLayout) -> ClientStats: ...

    def profiler(
        self, job: Job, layout: RepeatLayout, server: Server, driver: Driver, start: float
    ) -> AbstractContextManager[object]:
        """Sampling of the server or the driver (--profile) from shortly before ``start``
        (the window's) until the block ends, or a context that does nothing."""


@dataclass
class Measurement:
    """What the phases saw; :func:`asgi_bench.verdict.judge.judge` makes it a Repeat."""

    facts: Facts
    server_samples: list[Sample] = field(default_factory=list)
    counters: Counters | None = None
    interrupted: Interrupted | None = None


def measure(job: Job, layout: RepeatLayout, resources: Resources) -> Measurement:
    """Measure one repeat; every process is stopped when this returns (or raises)."""
    facts = Facts(job)
    measurement = Measurement(facts)
    server: Server | None = None
    try:
        with ExitStack() as stack:
            server = stack.enter_context(resources.server(job, layout))
            facts.server_notes = server.notes
            facts.observations = resources.probe(server, job)
            facts.unsupported = _protocol_refused(job, facts.observations)
            if facts.unsupported:
                return measurement  # the ExitStack stops the server
            wrong = _wrong_answers(facts.observations)
            if wrong:
                facts.fail(wrong)
                return measurement  # no load on answers the load would count as wrong
            facts.server_notes.extend(_nonconforming(facts.observations))
            sampler = server.sampler()
            if sampler is not None:
                stack.enter_context(_sampling(sampler, measurement))
            counters = measurement.counters = resources.counters(server, job, layout)
            # Drained, not read: a probe's or the verify step's request may still be running
            # in the app after its client has gone (a HEAD of an SSE stream), and would be
            # counted as the load's.
            facts.baseline = counters.drained() if counters else None
            server.mark_load_start()
            driver = stack.enter_context(resources.driver(job, layout, server))
            window = driver.window()

            def edge(t: float) -> ServerState | None:
                wait_until(t)
                state = counters.read_at(t) if counters is not None else None
                facts.cpu_times.append(cpu_times())
                return state

            with resources.profiler(job, layout, server, driver, window.start):
                start = edge(window.start)
                end = edge(window.end)
            if counters is not None:
                facts.edges = (start, end)
            driver.wait()
            problem = server.problem()
            if problem:
                raise ServerDiedError(problem)
            facts.final = counters.drained() if counters else None
            facts.read_failures = list(counters.failures) if counters else []
        # Every process is stopped here; what follows reads files and memory only.
        facts.client = resources.client_stats(layout)
    except ServerStartError as exc:
        facts.fail(str(exc), exc.log_tail)
    except (DriverError, ServerDiedError) as exc:
        facts.fail(str(exc))
    except Interrupted as exc:
        facts.fail(f"interrupted ({exc.name})")
        measurement.interrupted = exc
    except Exception as exc:  # a bug: keep it with the repeat, let the run go on
        facts.fail(f"internal error: {type(exc).__name__}: {exc}")
        facts.traceback = traceback.format_exc()
    finally:
        if server is not None:
            facts.shutdown_observed = server.shutdown_observed()
    return measurement


@contextmanager
def _sampling(sampler: Sampler, measurement: Measurement) -> Iterator[None]:
    sampler.start()
    try:
        yield
    finally:
        sampler.stop()  # before the server stops: the last sample sees it still running
        measurement.server_samples = list(sampler.samples)
        measurement.facts.server_sampler = sampler


def wait_until(t: float) -> None:
    """Sleep until unix time ``t`` (no-op when it has passed)."""
    delay = t - time.time()
    if delay > 0:
        time.sleep(delay)


# Probes whose no means the cell cannot be measured at all: the step's protocol, or the
# extension the workload exists to measure.
REQUIRED = {
    "h2": "does not speak h2",
    "h2c": "does not speak h2c",
    "pathsend": "offers no pathsend",
}


def _protocol_refused(job: Job, observations: list[Observation]) -> str | None:
    """Why the server cannot be measured at the step's protocol, or without the extension
    the workload measures, as its probe saw it; None when it could."""
    for seen in observations:
        if seen.capability in REQUIRED and not seen.ok:
            return f"{job.spec.name} {REQUIRED[seen.capability]}: {seen.detail}"
    return None


def _wrong_answers(observations: list[Observation]) -> str | None:
    """Why the verify step failed the cell, or None."""
    for seen in observations:
        if seen.capability == "verified" and not seen.ok:
            return f"verification failed: {seen.detail}"
    return None


def _nonconforming(observations: list[Observation]) -> list[str]:
    """The row's note on HTTP the load does not send and the server got wrong."""
    return [
        f"HTTP conformance: {seen.detail} (not a request of the load; measured)"
        for seen in observations
        if seen.capability == "conforms" and not seen.ok
    ]
