"""Run Locust headless in its own process (or processes), pinned to the driver's CPUs.

Locust monkey-patches its process with gevent, so it never shares a process with a server
or with the harness. The run is bounded by ``--run-time`` and, should Locust hang, by a hard
deadline after which the harness stops it.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from asgi_bench.collectors.process import ProcessSampler
from asgi_bench.errors import DriverError
from asgi_bench.procs import ManagedProcess
from asgi_bench.workloads import LOADTESTS_DIR, Workload

RECORDER = LOADTESTS_DIR / "recorder.py"


@dataclass(frozen=True)
class DriverSettings:
    users: int
    spawn_rate: float
    warmup: float
    duration: float
    processes: int = 1
    stop_timeout: float = 5.0
    cpus: tuple[int, ...] = ()


def locust_argv(
    workload: Workload, host: str, cell_dir: Path, settings: DriverSettings
) -> list[str]:
    # One second more than asked: the measured window is cut to whole seconds.
    run_time = math.ceil(settings.warmup + settings.duration) + 1
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        f"{RECORDER},{workload.locustfile}",
        "--headless",
        "--host",
        host,
        "--users",
        str(settings.users),
        "--spawn-rate",
        str(settings.spawn_rate),
        "--run-time",
        f"{run_time}s",
        "--stop-timeout",
        f"{settings.stop_timeout:g}",
        # Final numbers come from the JSON: the CSV misses the last seconds.
        "--json-file",
        str(cell_dir / "locust"),
        "--csv",
        str(cell_dir / "locust"),
        "--csv-full-history",
        "--exit-code-on-error",
        "0",  # the harness judges errors itself
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if settings.processes > 1:
        argv += ["--processes", str(settings.processes)]
    return argv


class LocustRun:
    """A Locust run in progress; :meth:`wait` returns when it ends by itself."""

    def __init__(
        self, workload: Workload, host: str, cell_dir: Path, settings: DriverSettings
    ) -> None:
        self.settings = settings
        self.cell_dir = cell_dir
        env = dict(os.environ)
        env["ASGI_BENCH_RECORD_DIR"] = str(cell_dir / "driver")
        env["ASGI_BENCH_WARMUP"] = str(settings.warmup)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
        argv = locust_argv(workload, host, cell_dir, settings)
        self.process = ManagedProcess(argv, cell_dir / "locust.log", env, settings.cpus)
        self.sampler = ProcessSampler(self.process.pid).start()
        self.started = time.time()

    def wait(self) -> None:
        s = self.settings
        budget = s.warmup + s.duration + s.stop_timeout + 30  # start-up and writing results
        code = self.process.wait(budget)
        self.sampler.stop()
        self.sampler.write(self.cell_dir / "driver-samples.jsonl")
        if code is None:
            self.process.stop(grace=5)
            raise DriverError(f"Locust did not finish within {budget:.0f}s; stopped it")
        self.process.stop(grace=1)
        if code != 0:
            raise DriverError(f"Locust exited with code {code}: {self.process.log_tail(5)}")
        if not (self.cell_dir / "locust.json").exists():
            raise DriverError(f"Locust wrote no JSON stats: {self.process.log_tail(5)}")

    def stop(self) -> None:
        """Stop early (Ctrl+C, a failure elsewhere): the tree is gone when this returns."""
        self.sampler.stop()
        self.process.stop(grace=5)
