"""Where the CPU moved from run A to run B: per row both runs profiled, µs per request by
component side by side (``asgi-bench compare``'s second table).

Information, never a verdict: a component's µs is samples over requests of a few windows,
with no interval, and a profiled window carries py-spy's own cost. Whether B is worse is
read from the measured figures (:mod:`asgi_bench.verdict.comparison`); this says where a
change in them went.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asgi_bench.results.rows import Row
from asgi_bench.verdict.profile import Profile, difference


@dataclass(frozen=True)
class ComponentChange:
    """One component's µs of Python-side CPU per request in A and in B; None where that
    run's profile had no request count to divide by.

    >>> moved = ComponentChange("kernel", 300.0, 150.0)
    >>> moved.delta, moved.relative
    (-150.0, -0.5)
    >>> ComponentChange("app", 0.0, 20.0).relative is None  # nothing in A to be a share of
    True
    """

    component: str
    a: float | None
    b: float | None

    @property
    def delta(self) -> float | None:
        """B - A in µs per request; None where either is unknown."""
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def relative(self) -> float | None:
        """The change as a share of A; None where A is 0 or either is unknown."""
        delta = self.delta
        return None if delta is None or not self.a else delta / self.a


@dataclass(frozen=True)
class RowShift:
    """The components of one row (server, app, step) that either run's profile saw work in,
    in COMPONENTS order."""

    server: str
    app: str
    step: str
    changes: tuple[ComponentChange, ...]


def component_changes(a: Profile, b: Profile) -> tuple[ComponentChange, ...]:
    """The components non-zero in either profile, in COMPONENTS order: one that neither
    sampled is noise in a table meant to show what moved."""
    return tuple(
        ComponentChange(name, us_a, us_b) for name, us_a, us_b in difference(a, b) if us_a or us_b
    )


def shifts(rows_a: Sequence[Row], rows_b: Sequence[Row]) -> list[RowShift]:
    """Every row both runs hold (same server, app and step) with a profile in both, in A's
    order. A row's profile is the merge of its ok repeats' (:func:`asgi_bench.results.rows.
    aggregate`), so a repeat that failed adds nothing to it."""
    profiled_b = {(r.server, r.app, r.step): r for r in rows_b if r.profile}
    found = []
    for row in rows_a:
        other = profiled_b.get((row.server, row.app, row.step))
        if (
            row.profile
            and other is not None
            and other.profile
            and row.profile.get("target") == other.profile.get("target")
        ):
            moved = component_changes(
                Profile.from_dict(row.profile), Profile.from_dict(other.profile)
            )
            found.append(RowShift(row.server, row.app, row.step, moved))
    return found
