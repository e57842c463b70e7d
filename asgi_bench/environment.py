"""The machine under the measurement: what the pinned CPUs did during a window.

``/proc/stat`` counts, per CPU, the time spent busy, idle and stolen by the hypervisor.
Read at a window's two edges, it says how much of the pinned CPUs' time went to processes
other than the server and the driver (a neighbour, a cron job) or to another virtual
machine (steal): either way the window was not the server's and the driver's alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
INTERFERENCE_AT = 0.10  # a window whose pinned CPUs spent more than this elsewhere is flagged


@dataclass(frozen=True)
class CpuTimes:
    busy_s: dict[int, float]  # per CPU: user + nice + system + irq + softirq
    steal_s: dict[int, float]


def cpu_times(stat: Path = Path("/proc/stat")) -> CpuTimes | None:
    busy: dict[int, float] = {}
    steal: dict[int, float] = {}
    try:
        lines = stat.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        values = [int(v) for v in fields]
        user, nice, system, _idle, _iowait, irq, softirq = values[:7]
        cpu = int(name[3:])
        busy[cpu] = (user + nice + system + irq + softirq) / TICK
        steal[cpu] = (values[7] if len(values) > 7 else 0) / TICK
    return CpuTimes(busy, steal)


def interference(
    first: CpuTimes, last: CpuTimes, cpus: Iterable[int], ours_s: float, seconds: float
) -> float | None:
    """The share of the ``cpus``' time in the window that went neither to us (``ours_s``:
    the server's and the driver's CPU seconds) nor to idleness: other processes, or steal."""
    cpus = [c for c in cpus if c in first.busy_s and c in last.busy_s]
    if not cpus or seconds <= 0:
        return None
    busy = sum(last.busy_s[c] - first.busy_s[c] for c in cpus)
    steal = sum(last.steal_s[c] - first.steal_s[c] for c in cpus)
    return max(0.0, busy - ours_s + steal) / (seconds * len(cpus))
