"""The split of CPUs between the servers and the Locust driver.

On a 2-core machine the default puts the server on CPU 0 and Locust on CPU 1, so neither
steals the other's core; on bigger machines each side gets half of the physical cores, and
hyperthread siblings always stay on the same side (two siblings share one core's execution
units, so a split between them would let the driver slow the server down).
"""

from __future__ import annotations

import os
from pathlib import Path

from asgi_bench.errors import UsageError

SYS_CPU = Path("/sys/devices/system/cpu")


def available_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def parse_cpus(text: str, flag: str = "CPU list") -> tuple[int, ...]:
    """``"0-2,5"`` -> ``(0, 1, 2, 5)``; the CPUs must be ones this process may use."""
    cpus: set[int] = set()
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            first, last = int(low), int(high or low)
            if first < 0 or last < first:
                raise ValueError(part)
            cpus.update(range(first, last + 1))
    except ValueError:
        raise UsageError(
            f"bad {flag} {text!r}; expected a list such as '0-3,6'; CPUs here: "
            f"{format_cpus(available_cpus())}"
        ) from None
    allowed = available_cpus()
    if not cpus or not cpus <= set(allowed):
        raise UsageError(
            f"{flag} {text!r} is not within the CPUs available here: {format_cpus(allowed)}"
        )
    return tuple(sorted(cpus))


def format_cpus(cpus: list[int] | tuple[int, ...]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2,5"``."""
    runs: list[list[int]] = []
    for cpu in sorted(set(cpus)):
        if runs and runs[-1][1] == cpu - 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def siblings(cpu: int, root: Path = SYS_CPU) -> tuple[int, ...]:
    """The hyperthread siblings of ``cpu`` (itself included), from sysfs; just ``cpu`` when
    the topology is not readable."""
    path = root / f"cpu{cpu}" / "topology" / "thread_siblings_list"
    try:
        text = path.read_text().strip()
    except OSError:
        return (cpu,)
    found: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return tuple(sorted(found))


def cores(cpus: list[int], root: Path = SYS_CPU) -> list[tuple[int, ...]]:
    """Group ``cpus`` by physical core, in CPU order."""
    groups: list[tuple[int, ...]] = []
    seen: set[int] = set()
    for cpu in cpus:
        if cpu in seen:
            continue
        group = tuple(c for c in siblings(cpu, root) if c in cpus) or (cpu,)
        seen.update(group)
        groups.append(group)
    return groups


def default_split(
    cpus: list[int] | None = None, root: Path = SYS_CPU
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(server CPUs, driver CPUs): the first half of the cores for the server, the rest for
    the driver, siblings kept together. With one core both sides share it."""
    groups = cores(cpus if cpus is not None else available_cpus(), root)
    if len(groups) < 2:
        shared = tuple(c for g in groups for c in g)
        return shared, shared
    half = len(groups) // 2
    server = tuple(sorted(c for g in groups[:half] for c in g))
    driver = tuple(sorted(c for g in groups[half:] for c in g))
    return server, driver


def split_overlap(server: tuple[int, ...], driver: tuple[int, ...], root: Path = SYS_CPU) -> str:
    """Why these two CPU sets interfere (shared CPUs or shared cores), or ``""``."""
    shared = sorted(set(server) & set(driver))
    if shared:
        return f"CPUs {format_cpus(shared)} are in both"
    for cpu in server:
        mates = set(siblings(cpu, root)) & set(driver)
        if mates:
            return f"CPU {cpu} (server) and {format_cpus(sorted(mates))} (driver) share a core"
    return ""
