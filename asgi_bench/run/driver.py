"""Run Locust headless in its own process (or processes), pinned to the driver's CPUs.

Locust monkey-patches its process with gevent, so it never shares a process with a server
or with the harness. The recorder plugin (``loadtests/recorder.py``) decides the measured
window and ends the test at its end; Locust's ``--run-time`` and a hard deadline here bound
the run should that fail, after which the harness stops Locust itself.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from types import TracebackType

from asgi_bench import envvars
from asgi_bench.errors import DriverError
from asgi_bench.load import Step
from asgi_bench.results.layout import RepeatLayout
from asgi_bench.system.processes import ManagedProcess, describe_exit, user_env
from asgi_bench.verdict.client import Window, window_of
from asgi_bench.workloads import LOADTESTS_DIR, Workload

PLUGIN = LOADTESTS_DIR / "harness.py"
START_TIMEOUT = 60.0  # Locust's imports take about a second; a busy machine, more


@dataclass(frozen=True)
class DriverSettings:
    warmup: float
    duration: float
    processes: int = 1
    stop_timeout: float = 5.0
    cpus: tuple[int, ...] = ()
    bind: str = "127.0.0.1"  # where a master listens for its worker processes
    port: int = 0  # ... and on which port (0: Locust's default)
    expect_workers: int = 0  # workers on other hosts (asgi-bench worker), not local processes
    workers_timeout: float = 60.0

    @property
    def senders(self) -> int:
        """How many Locust processes send load: the remote workers, or the local ones."""
        return self.expect_workers or self.processes

    @property
    def run_time(self) -> int:
        """Locust's own limit, a safety net: the recorder ends the test at the window's end."""
        return math.ceil(self.warmup) + math.ceil(self.duration) + math.ceil(self.stop_timeout) + 15

    @property
    def budget(self) -> float:
        """How long the harness lets Locust run before it stops it."""
        waiting = self.workers_timeout if self.expect_workers else 0.0
        return self.run_time + self.stop_timeout + 30 + waiting


def locust_argv(
    workload: Workload, step: Step, host: str, layout: RepeatLayout, settings: DriverSettings
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        f"{PLUGIN},{workload.locustfile}",
        "--headless",
        "--host",
        host,
        *step.locust_args(settings.senders),
        "--run-time",
        f"{settings.run_time}s",
        "--stop-timeout",
        f"{settings.stop_timeout:g}",
        # Locust's own totals, to reconcile with the recorder: its final JSON (the CSV misses
        # the last seconds, and writing its history every second pauses the driver long
        # enough to send a percent of a 2,000 req/s schedule late).
        "--json-file",
        str(layout.locust_prefix),
        "--exit-code-on-error",
        "0",  # the harness judges errors itself
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if settings.expect_workers:
        argv += [
            "--master",
            "--expect-workers",
            str(settings.expect_workers),
            "--expect-workers-max-wait",
            f"{settings.workers_timeout:g}",
            "--master-bind-host",
            settings.bind,
        ]
        if settings.port:
            argv += ["--master-bind-port", str(settings.port)]
    elif settings.processes > 1:
        argv += ["--processes", str(settings.processes), "--master-bind-host", settings.bind]
    user = workload.open_user if step.kind == "open" else workload.user
    if user:
        argv.append(user)  # select the user class by name (not by --tags)
    return argv


class LocustRun:
    """A Locust run: started on ``__enter__``, stopped (its whole tree) on ``__exit__``."""

    def __init__(
        self,
        workload: Workload,
        step: Step,
        host: str,
        layout: RepeatLayout,
        settings: DriverSettings,
    ) -> None:
        self.settings = settings
        self.layout = layout
        self.argv = locust_argv(workload, step, host, layout, settings)
        self.env = user_env(
            {
                envvars.RECORD_DIR: str(layout.dir),
                envvars.WARMUP: f"{settings.warmup:g}",
                envvars.DURATION: f"{settings.duration:g}",
                envvars.STOP_TIMEOUT: f"{settings.stop_timeout:g}",
                **step.environment(),
            }
        )
        if settings.senders > 1 and not settings.expect_workers and settings.cpus:
            # Locust forks its --processes workers onto all the driver CPUs: each takes one.
            self.env[envvars.DRIVER_CPUS] = ",".join(map(str, settings.cpus))
        self.process: ManagedProcess | None = None

    def __enter__(self) -> LocustRun:
        self.layout.dir.mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(
            self.argv, self.layout.locust_log, self.env, self.settings.cpus
        )
        self.started = time.monotonic()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is not None:
            self.process.stop(grace=5)

    def _running(self) -> ManagedProcess:
        assert self.process is not None, "use LocustRun as a context manager"
        return self.process

    def window(self) -> Window:
        """Wait for the window the recorder publishes when the test starts."""
        process = self._running()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            window = window_of(self.layout.window_json)
            if window is not None:
                return window
            if process.poll() is not None:
                raise DriverError(
                    self._failure(f"Locust {process.describe_exit()} before the test started")
                )
            time.sleep(0.02)
        raise DriverError(f"Locust did not start the test within {START_TIMEOUT:.0f}s")

    def wait(self) -> None:
        """Wait for the run to end by itself; a failure or a hang is a :class:`DriverError`."""
        process = self._running()
        remaining = self.settings.budget - (time.monotonic() - self.started)
        code = process.wait(max(0.0, remaining))
        if code is None:
            process.stop(grace=5)
            raise DriverError(
                f"Locust did not finish within {self.settings.budget:.0f}s; stopped it"
            )
        if code != 0:
            raise DriverError(self._failure(f"Locust {describe_exit(code)}"))
        if not self.layout.recorder_json.exists() or not self.layout.locust_json.exists():
            raise DriverError(self._failure("Locust wrote no results"))

    def _failure(self, head: str) -> str:
        why = self._running().explain()
        return f"{head}: {why}" if why else head
