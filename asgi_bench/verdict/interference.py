"""The machine under the measurement: who else used the CPUs during a window.

At a window's two edges the harness reads the CPU time of every process that is neither
the harness nor one of its children, and the time the hypervisor stole from this machine.
What others used in between, over the time the pinned CPUs had, is the window's
interference: a neighbour, a cron job, another virtual machine.

Why processes and not ``/proc/stat``: its per-CPU counters are sampled at the timer tick
(``CONFIG_TICK_CPU_ACCOUNTING``, the default), and a load that sleeps and wakes thousands
of times a second is misaccounted: measured here, two processes using 2.6 CPU seconds in
3 s showed as 0.62 busy seconds. Process times are exact (they are scaled to the
scheduler's runtime; they matched ``/proc/<pid>/schedstat`` within 0.5%).

When some CPUs are not pinned at all, other processes may have run there: the figure is
then an upper bound, and says so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
INTERFERENCE_AT = 0.10  # a window whose pinned CPUs spent more than this elsewhere is flagged


@dataclass(frozen=True)
class CpuTimes:
    """CPU seconds of the processes that are not ours, and the seconds stolen per CPU."""

    others_s: dict[int, float]  # pid -> user + system seconds
    steal_s: dict[int, float]  # CPU -> seconds stolen by the hypervisor


def cpu_times(stat: Path = Path("/proc/stat")) -> CpuTimes:
    ours = {os.getpid(), *(p.pid for p in psutil.Process().children(recursive=True))}
    others: dict[int, float] = {}
    for proc in psutil.process_iter():
        if proc.pid in ours:
            continue
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        others[proc.pid] = times.user + times.system
    return CpuTimes(others, steal(stat))


def steal(stat: Path = Path("/proc/stat")) -> dict[int, float]:
    stolen: dict[int, float] = {}
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return stolen
    for line in lines:
        name, *fields = line.split()
        if name.startswith("cpu") and name != "cpu" and len(fields) > 7:
            stolen[int(name[3:])] = int(fields[7]) / TICK
    return stolen


def interference(
    first: CpuTimes, last: CpuTimes, cpus: Iterable[int], seconds: float
) -> float | None:
    """The share of the pinned ``cpus``' time in the window that other processes used or
    the hypervisor stole."""
    cpus = list(cpus)
    if not cpus or seconds <= 0:
        return None
    others = sum(
        max(0.0, last.others_s[pid] - before)
        for pid, before in first.others_s.items()
        if pid in last.others_s
    )
    stolen = sum(last.steal_s.get(c, 0.0) - first.steal_s.get(c, 0.0) for c in cpus)
    return (others + max(0.0, stolen)) / (seconds * len(cpus))


def all_pinned(cpus: Iterable[int]) -> bool:
    """Do the pinned CPUs cover every CPU this process may use?"""
    return set(os.sched_getaffinity(0)) <= set(cpus)
