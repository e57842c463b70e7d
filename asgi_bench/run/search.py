"""Find the highest offered rate that meets a target: exponential steps, then bisection.

Used by ``run --rates auto`` (the target is the SLO: capacity at the SLO) and by
``driver-check`` (the target is the driver keeping its schedule). The search itself is a
pure function of a probe, so it is tested without a server.

Example::

    >>> result = search(lambda rate: Probe(ok=rate <= 3000), start=500, limit=20000)
    >>> result.capacity, result.stopped_by
    (3000.0, 'bisection')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Probe:
    """What one step at one rate showed."""

    ok: bool  # met the target
    driver_limited: bool = False  # the driver could not offer the rate: stop here
    why: str = ""


@dataclass
class SearchResult:
    capacity: float | None  # the highest rate that met the target; None: not even the first
    stopped_by: str  # bisection, driver, limit, probes
    probes: list[tuple[float, Probe]] = field(default_factory=list)

    @property
    def lower_bound(self) -> bool:
        """The capacity is at least this: the search stopped before finding the edge."""
        return self.stopped_by in ("driver", "limit")


def search(
    probe: Callable[[float], Probe],
    start: float,
    limit: float,
    *,
    factor: float = 2.0,
    precision: float = 0.1,
    max_probes: int = 10,
) -> SearchResult:
    """Double the rate from ``start`` until a probe fails (or ``limit``, what the driver can
    offer, is reached); then bisect between the last pass and the lowest rate that failed
    or that the driver could not offer, until they are within ``precision`` of each other.
    Ended by the driver, the capacity is a lower bound. Rates keep 3 significant digits."""
    result = SearchResult(None, "probes")
    passed: float | None = None
    failed: float | None = None
    ceiling: float | None = None  # the lowest rate the driver could not offer
    rate = _round(min(start, limit))
    while len(result.probes) < max_probes:
        seen = probe(rate)
        result.probes.append((rate, seen))
        if seen.driver_limited:
            ceiling = rate if ceiling is None else min(ceiling, rate)
        elif seen.ok:
            passed = rate
        else:
            failed = rate
        high = min((r for r in (failed, ceiling) if r is not None), default=None)
        result.stopped_by = "driver" if high is not None and high == ceiling else "bisection"
        if high is None:  # still climbing
            if rate >= limit:
                result.stopped_by = "limit"
                break
            rate = _round(min(rate * factor, limit))
            continue
        if passed is None:
            low = rate / factor
            if low < start / factor**2:  # far below where we began: nothing passes
                break
            rate = _round(low)
            continue
        if (high - passed) / passed <= precision:
            break
        rate = _round((passed + high) / 2)
        if rate in (passed, high):
            break
    else:
        result.stopped_by = "probes"
    result.capacity = passed
    return result


def _round(rate: float) -> float:
    """3 significant digits: step names stay readable (open-2880rps, not open-2876.3rps)."""
    if rate <= 0:
        return rate
    digits = len(str(int(rate)))
    return float(round(rate, 3 - digits))
