"""Run a native step: a warm-up run of the tool, then the measured run, pinned to the
driver's CPUs, stopped (its whole tree) on exit, whatever happens.

A native tool cuts no window of its own: the measured run *is* the window, its span counted
back from the moment it exited (wrk takes whole seconds), or from its first request where
the tool logs each one (h2load). The tool's figures cover its whole run, so the count check
compares whole runs, with the requests in flight at each run's stop (one per connection,
HTTP/2: ``streams`` per connection) as the tolerance, and says the window was not checked;
the server's CPU a request is over the tool's span and the tool's own count.

The warm-up is a run of its own for h2load too, though its ``--warm-up-time`` would keep the
warm-up's connections for the measured phase as Locust does: h2load counts the requests of
its warm-up nowhere (not in its summary, not in its log), so the server's count over the run
could no longer be checked against the tool's; a run of its own is counted, as wrk's is. The
price is a fresh connect (a TLS handshake over h2) a connection at the measured run's start.
"""

from __future__ import annotations

import contextlib
import socket
import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from asgi_bench.errors import DriverError, ResultsError
from asgi_bench.load.native import Invocation, Native, NativeFigures, get_tool
from asgi_bench.results.layout import RepeatLayout, read_json, write_json, write_text
from asgi_bench.run.driver import DriverSettings
from asgi_bench.system.processes import ManagedProcess
from asgi_bench.verdict.client import (
    FAILURE_KINDS,
    PERCENTILES,
    ClientStats,
    DriverProcess,
    Window,
    merge,
    percentiles_ms,
)

GRACE_S = 30.0  # beyond its own duration, before a tool that does not stop is stopped


class NativeRun:
    """A native step's driver: the warm-up on ``__enter__``, the measured run from then on."""

    def __init__(
        self, step: Native, url: str, layout: RepeatLayout, settings: DriverSettings
    ) -> None:
        self.tool = get_tool(step.tool)
        self.step, self.url, self.layout, self.settings = step, url, layout, settings
        # One thread per driver CPU, and never more threads than connections.
        self.threads = max(1, min(len(settings.cpus) or 1, step.connections))
        self.warmup: NativeFigures | None = None
        self.process: ManagedProcess | None = None
        self._window: Window | None = None
        self._started = 0.0  # when the measured run was started (unix time)

    def __enter__(self) -> NativeRun:
        self.layout.dir.mkdir(parents=True, exist_ok=True)
        script = self.tool.script()
        if script is not None:
            write_text(self.layout.native_script, script)
        if self.settings.warmup > 0:
            with self._start(self.settings.warmup, self.layout.native_warmup_log) as warm:
                self.warmup = self._figures(warm, self.settings.warmup)
        # h2load appends to its log: one left from an earlier try would be read as this run's.
        self.layout.native_requests.unlink(missing_ok=True)
        start = self._started = time.time()
        self.process = self._start(
            self.settings.duration, self.layout.native_log, self.layout.native_requests
        )
        self._window = Window(start, start + self.tool.runs_for(self.settings.duration))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            self.process.stop(grace=2)

    def _start(self, seconds: float, output: Path, requests: Path | None = None) -> ManagedProcess:
        run = Invocation(
            self.url,
            self.step.connections,
            self.threads,
            seconds,
            script=str(self.layout.native_script) if self.tool.script() is not None else None,
            streams=self.step.http.streams if self.step.http.h2 else 1,
            log=str(requests) if requests is not None else None,
        )
        argv = self.tool.argv(run)
        return ManagedProcess(argv, output, cpus=self.settings.cpus)

    def _figures(
        self, process: ManagedProcess, seconds: float, requests: Path | None = None
    ) -> NativeFigures:
        # Reaped here, not by Popen: the kernel's account of its CPU comes with its exit.
        code, cpu_s = process.wait_accounted(seconds + GRACE_S)
        if code is None:
            raise DriverError(f"{self.tool.name} did not stop within {seconds + GRACE_S:.0f}s")
        try:
            found = self.tool.parse(process.log_tail(200), requests) if code == 0 else None
        finally:
            if requests is not None:
                # Read or not: ~25 bytes a request (30 MB for 30 s at 40,000/s); what it
                # said is kept as a histogram.
                with contextlib.suppress(OSError):
                    requests.unlink()
        if found is None:
            why = process.explain() or f"it {process.describe_exit()} and printed no figures"
            raise DriverError(f"{self.tool.name}: {why}")
        return found if self.tool.reports_cpu else replace(found, cpu_s=cpu_s)

    def window(self) -> Window:
        assert self._window is not None, "use NativeRun as a context manager"
        return self._window

    def wait(self) -> None:
        assert self.process is not None and self._window is not None
        measured = self._figures(self.process, self.settings.duration, self.layout.native_requests)
        # The tool's own span: where it logged its first request, from there; else it ended
        # as it exited, and its first request went out after its start-up and connects, so
        # the window of its figures (and of the server's CPU beside them) is counted back
        # from the end.
        ended = time.time()
        start = measured.started if measured.started is not None else ended - measured.seconds
        write_json(
            self.layout.native_json,
            {
                "tool": self.tool.version() or self.tool.name,
                "argv": self.process.argv,
                "threads": self.threads,
                "connections": self.step.connections,
                "http": self.step.http.version,
                "in_flight": self.step.users,  # at most, at each stop: the count's tolerance
                "host": socket.gethostname(),
                "window_start": start,
                # Its CPU time is of its whole life (start-up, connects, stop): its busy
                # share is over that life, not over the span of its requests.
                "lifetime_s": ended - self._started,
                "warmup": self.warmup.__dict__ if self.warmup else None,
                "measured": measured.__dict__,
            },
        )


def native_client_stats(layout: RepeatLayout) -> ClientStats:
    """A native run's figures in the shape of Locust's: its measured run is the window."""
    try:
        data = read_json(layout.native_json)
    except ResultsError as exc:
        raise DriverError(f"the native tool's output is missing or unreadable: {exc}") from exc
    measured = NativeFigures(**data["measured"])
    runs = [measured, *([NativeFigures(**data["warmup"])] if data.get("warmup") else [])]
    start = float(data["window_start"])
    window = Window(start, start + measured.seconds)
    # Every key, None where nothing was answered 2xx (h2load's log then holds no latency).
    latency: dict[str, float | None] = dict.fromkeys([*PERCENTILES, "max_ms"], None)
    if measured.histogram:  # h2load: its log's histogram, read as Locust's are
        latency.update(percentiles_ms(merge([measured.histogram])))
    elif measured.responses:  # wrk: its Lua hook's percentiles
        latency.update({k.replace("_us", "_ms"): v / 1000 for k, v in measured.latency_us.items()})
    failures = dict.fromkeys(FAILURE_KINDS, 0)
    failures.update(non_2xx=measured.non_2xx, exceptions=measured.socket_errors)
    total = sum(run.responses for run in runs)
    life = data.get("lifetime_s") or measured.seconds  # an older record: its span
    busy = (
        measured.cpu_s / life / max(1, data["threads"])
        if life and measured.cpu_s is not None
        else None
    )
    return ClientStats(
        window=window,
        test_start=start,
        requests=measured.ok,
        failures=failures,
        latency_ms=latency,
        samples=measured.ok,
        counted_window=measured.responses + measured.socket_errors,
        completed_window=measured.responses,
        counted_total=total,
        locust_total=total,  # the tool's count is the only client count
        locust_window=measured.responses,
        processes=[DriverProcess(data["tool"], "local", data.get("host", ""), busy)],
        failures_total={
            **dict.fromkeys(FAILURE_KINDS, 0),
            "non_2xx": sum(run.non_2xx for run in runs),
            "exceptions": sum(run.socket_errors for run in runs),
        },
        # One a connection over HTTP/1.1 (an older native.json says no more).
        in_flight_at_stop=data.get("in_flight", data["connections"]) * len(runs),
        window_counted=False,
        tool=data["tool"],
        histogram=measured.histogram,
    )
