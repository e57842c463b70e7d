"""Find the highest offered rate that meets a target: exponential steps, then bisection.

Used by ``run --rates auto`` (the target is the SLO: capacity at the SLO; one cell's
search is :func:`search_cell`) and by ``driver-check`` (the target is the driver keeping
its schedule). :func:`search` itself is a pure function of its trials, so it is tested
without a server.

Example::

    >>> result = search(lambda rate: Trial(ok=rate <= 3000), start=500, limit=20000)
    >>> result.capacity, result.stopped_by
    (3000.0, 'bisection')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from asgi_bench.load.open import Open
from asgi_bench.results.repeat import Repeat
from asgi_bench.results.rows import Row, aggregate
from asgi_bench.results.summary import judge_row
from asgi_bench.verdict.interference import INTERFERENCE_AT
from asgi_bench.verdict.slo import Slo


@dataclass(frozen=True)
class Trial:
    """What one step at one rate showed."""

    ok: bool  # met the target
    capped: bool = False  # the rate cannot be measured (the driver could not offer it;
    # driver-check: the server saturated): climb no higher
    why: str = ""


@dataclass
class SearchResult:
    capacity: float | None  # the highest rate that met the target; None: not even the first
    stopped_by: str  # bisection, driver, limit, trials (it ran out of them)
    trials: list[tuple[float, Trial]] = field(default_factory=list)

    @property
    def lower_bound(self) -> bool:
        """The capacity is at least this: the search stopped before finding the edge."""
        return self.stopped_by in ("driver", "limit")


def search(
    trial: Callable[[float], Trial],
    start: float,
    limit: float,
    *,
    factor: float = 2.0,
    precision: float = 0.1,
    max_trials: int = 10,
) -> SearchResult:
    """Double the rate from ``start`` until a trial fails (or ``limit``, what the driver can
    offer, is reached); then bisect between the last pass and the lowest rate that failed
    or was capped (the driver could not offer it), until they are within ``precision`` of
    each other. Ended by a cap (``stopped_by`` "driver"), the capacity is a lower bound.
    Rates keep 3 significant digits."""
    result = SearchResult(None, "trials")
    passed: float | None = None
    failed: float | None = None
    ceiling: float | None = None  # the lowest capped rate
    rate = _round(min(start, limit))
    while len(result.trials) < max_trials:
        seen = trial(rate)
        result.trials.append((rate, seen))
        if seen.capped:
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
        result.stopped_by = "trials"
    result.capacity = passed
    return result


def _round(rate: float) -> float:
    """3 significant digits: step names stay readable (open-2880rps, not open-2876.3rps)."""
    if rate <= 0:
        return rate
    digits = len(str(int(rate)))
    return float(round(rate, 3 - digits))


CONFIRM = 2  # more repeats of a step that missed in a disturbed window: three, the median decides


def search_cell(
    measure_step: Callable[[Open, int], Repeat],
    slo: Slo,
    start: float,
    limit: float,
    step: Open,
    repeat: int = 1,
) -> SearchResult:
    """Search one cell's capacity at ``slo``; ``measure_step(step, k)`` runs (and records)
    repeat ``k`` of one step, ``repeat`` times per step. Each step is judged as its summary
    row will be, by the medians over its repeats. A step that missed in a disturbed window
    (a trend or step inside it, or others using the pinned CPUs) is measured ``CONFIRM``
    more times: on a shared machine one hiccup must not set a capacity."""

    def trial(rate: float) -> Trial:
        at = Open(rate, step.arrival, step.slots, step.http)
        repeats = [measure_step(at, k) for k in range(1, repeat + 1)]
        row = _judged(repeats, slo)
        if row.slo_pass is False and row.bound != "driver" and any(map(_disturbed, repeats)):
            repeats += [measure_step(at, k) for k in range(repeat + 1, repeat + 1 + CONFIRM)]
            row = _judged(repeats, slo)
        if row.status != "ok":
            return Trial(ok=False, why=row.reason)
        return Trial(bool(row.slo_pass), capped=row.driver_ceiling, why=row.slo_detail)

    return search(trial, start, limit)


def _judged(repeats: list[Repeat], slo: Slo) -> Row:
    [row] = aggregate(repeats)
    if row.status == "ok":
        judge_row(row, slo)
    return row


def _disturbed(repeat: Repeat) -> bool:
    return bool(repeat.unsteady) or (repeat.interference or 0.0) > INTERFERENCE_AT
