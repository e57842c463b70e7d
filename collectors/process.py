"""Sample a process tree's CPU time and memory with psutil, in a background thread.

The tree is the leader and all its descendants (every worker), looked up again at each
sample so workers that start late are counted. CPU time includes the children that have
already been reaped, so a worker that exits does not make the total go backwards.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class Sample:
    t: float  # unix time
    cpu_s: float  # cumulative user + system seconds of the whole tree
    rss_bytes: int  # resident memory of the whole tree
    processes: int


class ProcessSampler:
    """Sample a tree every ``interval`` seconds until :meth:`stop`.

    Example::

        sampler = ProcessSampler(server_pid, interval=0.25)
        sampler.start()
        ...  # run the load
        sampler.stop()
        busy = sampler.cpu_between(t0, t1) / (t1 - t0)
    """

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[Sample] = []
        self._procs: dict[int, psutil.Process] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sampler-{pid}", daemon=True)

    def start(self) -> ProcessSampler:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.sample()

    def sample(self) -> Sample | None:
        try:
            leader = self._procs.get(self.pid) or psutil.Process(self.pid)
            tree = [leader, *leader.children(recursive=True)]
        except psutil.Error:
            return None
        cpu = 0.0
        rss = 0
        alive = 0
        for proc in tree:
            # Reuse Process objects: psutil checks pid reuse through them.
            proc = self._procs.setdefault(proc.pid, proc)
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    rss += proc.memory_info().rss
            except psutil.Error:
                continue
            cpu += times.user + times.system + times.children_user + times.children_system
            alive += 1
        sample = Sample(time.time(), cpu, rss, alive)
        self.samples.append(sample)
        return sample

    def cpu_at(self, t: float) -> float:
        """Cumulative CPU seconds at time ``t``, interpolated between samples."""
        if not self.samples:
            return 0.0
        times = [s.t for s in self.samples]
        i = bisect.bisect_left(times, t)
        if i == 0:
            return self.samples[0].cpu_s
        if i >= len(self.samples):
            return self.samples[-1].cpu_s
        a, b = self.samples[i - 1], self.samples[i]
        fraction = (t - a.t) / (b.t - a.t) if b.t > a.t else 1.0
        return a.cpu_s + (b.cpu_s - a.cpu_s) * fraction

    def cpu_between(self, start: float, end: float) -> float:
        return max(0.0, self.cpu_at(end) - self.cpu_at(start))

    def peak_rss(self) -> int:
        return max((s.rss_bytes for s in self.samples), default=0)

    def write(self, path: Path) -> None:
        path.write_text("".join(json.dumps(asdict(s)) + "\n" for s in self.samples))
