"""The split of CPUs between the servers and the Locust driver.

On a 2-core machine the default puts the server on CPU 0 and Locust on CPU 1, so neither
steals the other's core; on bigger machines each side gets half.
"""

from __future__ import annotations

import os

from asgi_bench.errors import UsageError


def available_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def parse_cpus(text: str) -> tuple[int, ...]:
    """``"0-2,5"`` -> ``(0, 1, 2, 5)``; the CPUs must be ones this process may use."""
    cpus: set[int] = set()
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            low, _, high = part.partition("-")
            cpus.update(range(int(low), int(high or low) + 1))
    except ValueError:
        raise UsageError(f"bad CPU list {text!r}; expected a list such as '0-3,6'") from None
    allowed = available_cpus()
    if not cpus or not cpus <= set(allowed):
        raise UsageError(f"CPU list {text!r} is not within the CPUs available here: {allowed}")
    return tuple(sorted(cpus))


def default_split() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(server CPUs, driver CPUs). With one CPU both sides share it."""
    cpus = available_cpus()
    if len(cpus) < 2:
        return tuple(cpus), tuple(cpus)
    half = len(cpus) // 2
    return tuple(cpus[:half]), tuple(cpus[half:])
