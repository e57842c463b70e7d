"""Who limited a step: the one rule for "driver-limited", and the thresholds the verdicts use.

A driver-limited step is never published as the server's figure. The judge applies
:func:`driver_limit` to every repeat and records the answer as ``bound = "driver"`` with a
note (an open step's starts ``driver-limited``; a closed loop's says its throughput is a
lower bound); everything downstream reads only that: the summary's
rows (``Row.driver_bound``), the charts (hollow or hatched), the tables (marked, and left
out of the same-load comparison), the SLO verdict and the capacity search (a lower bound).
The SLO verdict adds one case of its own that needs the objective: a miss the driver's lag
decided (:func:`asgi_bench.verdict.slo.driver_decided`).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ERROR_RATE = 0.01  # above this share of failed requests a repeat is failed (default)
BOUND_AT = 0.9  # a side this busy is the limit
ACHIEVED_AT = 0.99  # an open step whose connections sent less of its schedule: the driver's
LATE_AT = 0.01  # an open step that dispatched more of its arrivals late (over 1 ms) says so
LATE_LIMIT = 0.05  # ... and one that dispatched more than this late is driver-limited


@dataclass(frozen=True)
class DriverSide:
    """What one repeat saw of its driver. Counts are of the measured window."""

    load: str  # closed or open
    driver_busy: float | None  # the busiest Locust process (a master excluded)
    server_busy: float | None
    offered_rps: float | None = None  # open model
    seconds: float = 0.0  # the window's length
    scheduled: int = 0  # arrivals the schedule held for the window
    sent: int = 0  # requests a connection put on the wire inside the window
    late: int = 0  # arrivals dispatched more than 1 ms after their intended time
    unfinished: int = 0  # sent and never answered: the server held them

    @property
    def achieved_rps(self) -> float | None:
        return self.sent / self.seconds if self.seconds else None

    @property
    def late_share(self) -> float:
        return self.late / self.scheduled if self.scheduled else 0.0


def driver_limit(side: DriverSide) -> str | None:
    """Why the driver, not the server, set this step's figures; None when it did not.

    * the busiest driver process was at least ``BOUND_AT`` busy (either load shape);
    * open model: its connections sent under ``ACHIEVED_AT`` of the arrivals its schedule
      held for the window (and more than one short: one due at the window's end may go out
      just after it). A dispatched arrival that no connection sent was never offered
      to the server. Excepted: a server that was itself saturated, or that left requests
      unanswered (more than the shortfall tolerated), held the connections the arrivals
      waited for: its limit, seen in its latency and failures;
    * open model: more than ``LATE_LIMIT`` of its arrivals were dispatched late, so the
      corrected latency is the driver's lag as much as the server's time.

    >>> driver_limit(DriverSide("open", 0.5, 0.3, 1000.0, 2.0, scheduled=2000, sent=1900))
    'driver-limited: sent 950 of 1,000 req/s offered (1,900 of 2,000 arrivals)'
    >>> driver_limit(DriverSide("open", 0.5, 0.95, 1000.0, 2.0, scheduled=2000, sent=1900))
    """
    if side.driver_busy is not None and side.driver_busy >= BOUND_AT:
        return f"driver-limited: the busiest driver process was {side.driver_busy:.0%} busy"
    if side.load != "open" or not side.scheduled:
        return None
    tolerated = (1 - ACHIEVED_AT) * side.scheduled
    # The server held the connections: saturated, or more requests left unanswered than the
    # shortfall a kept schedule tolerates (one lost request is not a hung server).
    server_held = side.unfinished > max(1.0, tolerated) or (
        side.server_busy is not None and side.server_busy >= BOUND_AT
    )
    short = side.scheduled - side.sent
    # More than one arrival: a request due at the window's end may go out just after it.
    if short > max(1.0, tolerated) and not server_held:
        return (
            f"driver-limited: sent {side.achieved_rps or 0:,.0f} of {side.offered_rps or 0:,g} "
            f"req/s offered ({side.sent:,} of {side.scheduled:,} arrivals)"
        )
    if side.late_share > LATE_LIMIT:
        return (
            f"driver-limited: {side.late_share:.1%} of arrivals dispatched over 1 ms late, "
            f"over the {LATE_LIMIT:.0%} a kept schedule allows"
        )
    return None
