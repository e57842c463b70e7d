"""Sample CPU time and memory in a background thread: a local process tree with psutil
(this module), or a container through the Docker API (:mod:`asgi_bench.run.docker`).

For a process tree, CPU time includes the children that were already reaped, so a worker
that exits does not make the total go backwards. Memory is the tree's RSS when it is one
process, and its PSS when it is several (forked workers share pages; RSS would count them
once per worker).
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
    memory_bytes: int  # resident memory of the whole tree, as ``memory_kind`` counts it
    processes: int
    memory_kind: str = "rss"  # rss, pss or cgroup


class Sampler:
    """Sample every ``interval`` seconds in a thread until :meth:`stop`.

    Subclasses say how to read one sample (:meth:`read`); the timing, storage and window
    arithmetic are shared.

    Example::

        sampler = ProcessSampler(server_pid, interval=0.25).start()
        ...  # run the load
        sampler.stop()
        busy = sampler.cpu_between(t0, t1) / (t1 - t0)
    """

    def __init__(self, interval: float = 0.25, name: str = "sampler") -> None:
        self.interval = interval
        self.samples: list[Sample] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def read(self) -> tuple[float, int, int, str] | None:
        """(cumulative CPU seconds, memory bytes, process count, memory kind), or None if
        unreadable."""
        raise NotImplementedError

    def start(self) -> Sampler:
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
        reading = self.read()
        if reading is None:
            return None
        sample = Sample(time.time(), *reading)
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

    def brackets(self, start: float, end: float) -> bool:
        """Are there samples at or before ``start`` and at or after ``end``? Without them a
        CPU figure for the window would be extrapolated, not measured."""
        times = [s.t for s in self.samples]
        return bool(times) and times[0] <= start and times[-1] >= end

    def peak_memory(
        self, start: float = float("-inf"), end: float = float("inf")
    ) -> tuple[int, str] | None:
        """The highest memory reading within ``[start, end]``, and what kind it is."""
        inside = [s for s in self.samples if start <= s.t <= end]
        if not inside:
            return None
        peak = max(inside, key=lambda s: s.memory_bytes)
        return peak.memory_bytes, peak.memory_kind

    def write(self, path: Path) -> None:
        path.write_text("".join(json.dumps(asdict(s)) + "\n" for s in self.samples))


class ProcessSampler(Sampler):
    """A local process tree: the leader and all its descendants, looked up again at each
    sample so that workers starting late are counted."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(interval, name=f"sampler-{pid}")
        self.pid = pid
        self._procs: dict[int, psutil.Process] = {}

    def read(self) -> tuple[float, int, int, str] | None:
        try:
            leader = self._procs.get(self.pid) or psutil.Process(self.pid)
            tree = [leader, *leader.children(recursive=True)]
        except psutil.Error:
            return None
        cpu = 0.0
        memory = 0
        alive = 0
        kind = "pss" if len(tree) > 1 else "rss"
        for proc in tree:
            # Reuse Process objects: psutil checks pid reuse through them.
            proc = self._procs.setdefault(proc.pid, proc)
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    memory += (
                        proc.memory_full_info().pss if kind == "pss" else proc.memory_info().rss
                    )
            except psutil.Error:
                continue
            cpu += times.user + times.system + times.children_user + times.children_system
            alive += 1
        return cpu, memory, alive, kind
