"""Summary rows: one per (cell, step), aggregated over its repeats; written as JSON and CSV.

A row's figure is the median over its ok repeats, with its 95% interval (``<name>_ci95``)
and coefficient of variation (``<name>_cv``): see :mod:`asgi_bench.verdict.stats` for how, and why.
Counts are summed over every repeat that made them, failed ones included, so a failed row
keeps its failure counts in their fields. ``repeats`` says how many repeats the figures
come from. A row is ``noisy`` when its headline figure varies more than the threshold
between repeats (throughput for a closed loop, 5%; p50 latency at a fixed rate, 10%), and
``unsteady`` when a window's own per-second series drifted or stepped. A row is ``failed``
when any of its repeats failed (a server that fails one window in three is not published
as fast), ``unsupported`` when all were, and its numbers from the ok repeats are kept
beside the reason.

A ``--paired`` row holds each repeat twice, bare and instrumented: its headline figures
(latency, throughput, CPU, memory) and its repeat count come from the bare ones, the figures
only the middleware gives and the count check from the instrumented ones, and
``instrument_cpu_ratio`` is the median over rounds of instrumented / bare CPU per request.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from asgi_bench.figures import FIGURES
from asgi_bench.results.repeat import Repeat
from asgi_bench.types import Bound, CountCheck, LoadShape, Status
from asgi_bench.verdict import stats
from asgi_bench.verdict.profile import RANKABLE, Profile, merge
from asgi_bench.workloads import base_name

# Every figure gets a median (and, with repeats, an interval and a CV) per row; the tail
# figures a short window cannot give need as many samples as their percentile says.
METRICS = tuple(FIGURES)
INSTRUMENT = "instrument_cpu_ratio"  # --paired: a row's figure, not a repeat's
NOISE = {"closed": ("rps", 0.05), "open": ("p50_ms", 0.10)}  # headline figure, CV limit
COUNTS = (
    "requests",
    "errors",
    "non_2xx",
    "wrong_body",
    "exceptions",
    "unfinished",
    "scheduled",
    "late",
    "dropped",
)


@dataclass
class Row:
    server: str
    app: str
    step: str
    load: LoadShape
    users: int | None
    offered_rps: float | None
    status: Status
    reason: str
    repeats: int  # ok repeats the figures come from
    planned: int  # repeats planned for this row
    values: dict[str, float | None] = field(default_factory=dict)
    ci95: dict[str, list[float] | None] = field(default_factory=dict)
    cv: dict[str, float | None] = field(default_factory=dict)
    ci_method: str = "none"  # order (>= 6 repeats), t (2-5), none (1)
    noisy: bool | None = None  # None: a single repeat cannot tell
    unsteady: list[str] = field(default_factory=list)  # repeats whose window drifted
    counts: dict[str, int | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    bound: Bound | None = None  # driver: driver-limited (asgi_bench.verdict.limits)
    count_check: CountCheck = "not made"
    count_detail: str = ""
    memory_kind: str | None = None
    slo: str | None = None  # the objective this row was judged by
    slo_pass: bool | None = None  # None: not judged, or a figure it needs is missing
    slo_detail: str = ""
    server_missed: bool = False  # driver-limited, yet the SLO miss is the server's
    workers: int = 1
    tls: bool = False
    capabilities: dict[str, bool] = field(default_factory=dict)
    capability_details: dict[str, str] = field(default_factory=dict)
    log_tail: str = ""
    ok_requests: int = 0  # successes of the ok repeats (``counts`` has every repeat's)
    tool: str | None = None  # a native row's tool and version; None: Locust
    http: str = "1.1"
    streams: int | None = None  # HTTP/2: requests per connection, at most
    framework: str = "raw"
    # --profile: the ok repeats' profiles merged (asgi_bench.verdict.profile.merge)
    profile: dict[str, Any] | None = None
    paired: bool = False  # --paired: headline figures from bare repeats (see the module)

    @property
    def cell(self) -> str:
        return f"{self.server}/{self.app}"

    @property
    def base_app(self) -> str:
        """The app a framework variant's row is of: ``hello`` for ``hello@starlette``."""
        return base_name(self.app)

    @property
    def servers_own(self) -> bool:
        """Its figures are the server's at a set offered load: open model, ok, not
        driver-limited (what the report's side-by-side tables compare)."""
        return self.load == "open" and self.status == "ok" and not self.driver_bound

    def get(self, name: str) -> float | None:
        if name in self.values:
            return self.values[name]
        count = self.counts.get(name)
        return None if count is None else float(count)

    @property
    def ranked(self) -> bool:
        """Its figures may be ranked against others': not profiled, or its server profiled by
        a py-spy whose cost to this server was measured within RANKABLE (asgi-bench profile).
        A driver profile ran py-spy on the server's CPUs: not ranked either.

        >>> Row("uvicorn", "hello", "open-1000rps", "open", None, 1e3, "ok", "", 1, 1).ranked
        True
        """
        if not self.profile:
            return True
        if self.profile.get("target") != "server":
            return False
        cost = self.profile.get("cost") or {}
        return bool(cost) and float(cost.get("cpu_ratio", 99)) <= RANKABLE

    @property
    def driver_bound(self) -> bool:
        """Driver-limited (:mod:`asgi_bench.verdict.limits`): its figures are not the server's."""
        return self.bound == "driver"

    @property
    def driver_ceiling(self) -> bool:
        """Whether the driver, not the server, stopped a capacity search at this row: it is
        driver-limited and its SLO miss (if any) is not the server's own."""
        return self.driver_bound and not self.server_missed

    @property
    def driver_reason(self) -> str:
        """Why the row is driver-limited, as its notes or SLO verdict say; "" when it is not."""
        if not self.driver_bound:
            return ""
        said = [n for n in self.notes if n.startswith(("driver-limited", "driver "))]
        if "driver's lag decided" in self.slo_detail:
            said.append(f"SLO {self.slo_detail}")
        return "; ".join(said) or "driver-limited"

    @property
    def samples_per_window(self) -> float:
        """Timed successes per ok window: what the figures' percentiles were drawn from."""
        return self.ok_requests / max(1, self.repeats)

    def too_few_samples(self, name: str) -> int | None:
        """The samples per window ``name`` needs, when its windows held fewer (p99.9 and max
        need 10,000); else None: the figure can be shown."""
        figure = FIGURES.get(name)
        need = figure.tail if figure is not None else None
        if need is None or stats.enough_samples(need, self.samples_per_window):
            return None
        return stats.min_samples(need)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "server": self.server,
            "app": self.app,
            "step": self.step,
            "load": self.load,
            "tool": self.tool,
            "http": self.http,
            "streams": self.streams,
            "framework": self.framework,
            "users": self.users,
            "offered_rps": self.offered_rps,
            "status": self.status,
            "reason": self.reason,
            "repeats": self.repeats,
            "planned": self.planned,
            "bound": self.bound,
            "count_check": self.count_check,
            "count_detail": self.count_detail,
            "memory_kind": self.memory_kind,
            "slo": self.slo,
            "slo_pass": self.slo_pass,
            "slo_detail": self.slo_detail,
            "server_missed": self.server_missed,
            "workers": self.workers,
            "tls": self.tls,
        }
        out.update(repeats_ci=self.ci_method, noisy=self.noisy, unsteady=self.unsteady)
        for name in METRICS:
            out[name] = self.values.get(name)
            out[f"{name}_ci95"] = self.ci95.get(name)
            out[f"{name}_cv"] = self.cv.get(name)
        out.update({name: self.counts.get(name) for name in COUNTS})
        out.update(
            notes=self.notes,
            capabilities=self.capabilities,
            capability_details=self.capability_details,
            log_tail=self.log_tail,
            profile=self.profile,
        )
        out.update(
            paired=self.paired,
            instrument_cpu_ratio=self.values.get(INSTRUMENT),
            instrument_cpu_ratio_ci95=self.ci95.get(INSTRUMENT),
        )
        return out


NESTED = (
    "notes",
    "capabilities",
    "capability_details",
    "log_tail",
    "unsteady",
    "profile",
)


def aggregate(repeats: Iterable[Repeat], paired: bool = False) -> list[Row]:
    """Rows in the order their cells and steps first appear in ``repeats``; ``paired``: the
    run's --paired (see the module)."""
    groups: dict[tuple[str, str, str], list[Repeat]] = {}
    for repeat in repeats:
        groups.setdefault((repeat.server, repeat.app, repeat.step), []).append(repeat)
    return [_row(sorted(group, key=lambda r: r.repeat), paired) for group in groups.values()]


def _row(group: list[Repeat], paired: bool) -> Row:
    first = group[0]
    ok = [r for r in group if r.status == "ok"]
    # --paired: the bare twins give the headline (twins_of says which twins each figure is
    # read from), the instrumented ones the count check
    headline = [r for r in ok if r.bare] if paired else ok
    failed = [r for r in group if r.status == "failed"]
    status: Status
    if failed:
        status = "failed"
        reason = "; ".join(f"repeat {_name(r, paired)}: {r.reason}" for r in failed)
        if len(group) == 1:
            reason = failed[0].reason
    elif not ok:
        status, reason = "unsupported", first.reason
    else:
        status, reason = "ok", ""
    basis = ok or group
    row = Row(
        server=first.server,
        app=first.app,
        step=first.step,
        load=first.load,
        users=first.users,
        offered_rps=first.offered_rps,
        status=status,
        reason=reason,
        repeats=len(headline),
        planned=sum(r.bare for r in group) if paired else len(group),
        workers=first.workers,
        tls=first.tls,
        log_tail=next((r.log_tail for r in failed if r.log_tail), ""),
        ok_requests=sum(r.requests or 0 for r in headline),
        tool=next((r.tool for r in group if r.tool), None),
        http=first.http,
        streams=first.streams,
        framework=first.framework,
        paired=paired,
    )
    spreads = {
        name: stats.spread([getattr(r, name) for r in twins_of(ok, name, paired)])
        for name in METRICS
    }
    for name, spread in spreads.items():
        row.values[name] = spread.median
        row.ci95[name] = list(spread.ci95) if spread.ci95 else None
        row.cv[name] = spread.cv
    row.ci_method = spreads["rps"].method
    figure, limit = NOISE.get(row.load, NOISE["closed"])
    row.noisy = stats.noisy(spreads[figure], limit)
    row.unsteady = [f"repeat {r.repeat}: {r.unsteady}" for r in headline if r.unsteady]
    # The headline's mode, and every failure: a failed row keeps its failures' counts.
    counted = [r for r in group if r.bare or r.status == "failed"] if paired else group
    for name in COUNTS:
        # Over every repeat that counted it: a failed row keeps its failures in their fields.
        found = [getattr(r, name) for r in counted if getattr(r, name) is not None]
        row.counts[name] = sum(found) if found else None
    row.notes = list(dict.fromkeys(note for r in group for note in _notes(r, basis, paired)))
    row.bound = _worst_bound([r.bound for r in (headline or basis)])
    checked = [r for r in ok if not r.bare] if paired else ok
    row.count_check = _count_check([r.count_check for r in checked]) if checked else "not made"
    row.count_detail = "; ".join(
        dict.fromkeys(r.count_detail for r in checked if r.count_detail and r.count_check != "ok")
    ) or (checked[0].count_detail if checked else "")
    row.memory_kind = next((r.memory_kind for r in headline if r.memory_kind), None)
    if paired:
        ratio = stats.spread(instrument_ratios(ok))
        row.values[INSTRUMENT] = ratio.median
        row.ci95[INSTRUMENT] = list(ratio.ci95) if ratio.ci95 else None
        row.cv[INSTRUMENT] = ratio.cv
    profiled = [r.profile for r in ok if r.profile]
    if profiled:
        said = profiled[0]
        try:
            merged = merge([Profile.from_dict(p) for p in profiled])
        except (KeyError, TypeError, ValueError) as exc:  # a damaged or mixed profile
            row.notes.append(f"--profile: the repeats' profiles could not be merged ({exc!r})")
        else:
            extra = {"target": said.get("target"), "cost": said.get("cost")}
            row.profile = merged.to_dict() | extra
    for r in group:
        for capability, seen in r.capabilities.items():
            # A capability seen failing once is not a capability.
            row.capabilities[capability] = row.capabilities.get(capability, True) and seen
            if not seen or capability not in row.capability_details:
                row.capability_details[capability] = r.capability_details.get(capability, "")
    return row


def paired_run(manifest: Mapping[str, Any]) -> bool:
    """A run's --paired, from its run.json (a run from before the flag: False): what its rows
    are aggregated with, never guessed from its repeats (a row whose bare twins all failed
    holds instrumented ones only)."""
    return bool((manifest.get("config") or {}).get("paired", False))


def twins_of(repeats: Iterable[Repeat], name: str, paired: bool) -> list[Repeat]:
    """The ok repeats figure ``name`` is read from: all of them; under --paired (the run's
    ``config.paired``), the instrumented twins for a figure only the middleware gives
    (:attr:`Figure.middleware <asgi_bench.figures.Figure.middleware>`), the bare ones for
    every other. A row and ``asgi-bench compare`` both read its figures through this.

    >>> twins = [Repeat("u", "hello", "s", 1, bare=b, status="ok") for b in (True, False)]
    >>> [r.bare for r in twins_of(twins, "p50_ms", True)], len(twins_of(twins, "p50_ms", False))
    ([True], 2)
    >>> [r.bare for r in twins_of(twins, "app_p50_ms", True)]
    [False]
    """
    ok = [r for r in repeats if r.status == "ok"]
    if not paired:
        return ok
    return [r for r in ok if r.bare != FIGURES[name].middleware]


def _notes(repeat: Repeat, basis: list[Repeat], paired: bool) -> list[str]:
    """A repeat's notes that are its row's: those of the repeats its figures come from; under
    --paired, a bare twin's but its "count check not made" (the instrumented twins make the
    row's), and of an instrumented twin only what it says of its counters."""
    if repeat not in basis:
        return []
    if not paired:
        return repeat.notes
    return [note for note in repeat.notes if _of_counters(note) != repeat.bare]


def _of_counters(note: str) -> bool:
    return note.startswith("count check") or "the server's counters" in note


def _name(repeat: Repeat, paired: bool) -> str:
    """``3``, or ``3 (bare)`` for a --paired run's bare twin."""
    return f"{repeat.repeat} (bare)" if paired and repeat.bare else str(repeat.repeat)


def instrument_ratios(repeats: Iterable[Repeat]) -> list[float]:
    """Instrumented / bare CPU per request of each round in which both twins were measured.
    (Each divides by the requests its window served: the server's count where the middleware
    gave one, the driver's for the bare twin; the count check keeps the two within a few.)

    >>> twins = [Repeat("u", "hello", "s", k, bare=b, cpu_us_per_request=c)
    ...          for k, b, c in ((1, True, 50.0), (1, False, 55.0), (2, False, 63.0),
    ...                          (2, True, 60.0), (3, True, 40.0))]
    >>> [round(r, 3) for r in instrument_ratios(twins)]
    [1.1, 1.05]
    """
    bare: dict[int, float] = {}
    measured: dict[int, float] = {}
    for r in repeats:
        if r.cpu_us_per_request:
            (bare if r.bare else measured)[r.repeat] = r.cpu_us_per_request
    return [measured[k] / bare[k] for k in sorted(bare) if k in measured]


def _worst_bound(bounds: list[Bound | None]) -> Bound | None:
    worst_first: tuple[Bound, ...] = ("driver", "server", "neither")
    for bound in worst_first:
        if bound in bounds:
            return bound
    return None


def _count_check(checks: list[CountCheck]) -> CountCheck:
    if "mismatch" in checks:
        return "mismatch"
    if "not made" in checks:
        return "not made"
    return "ok"


_EMPTY = Row("", "", "", "closed", None, None, "failed", "", 0, 0)
CSV_FIELDS = [k for k in _EMPTY.to_dict() if k not in NESTED]


def csv_text(rows: list[Row]) -> str:
    buffer = io.StringIO()
    flat = [row.to_dict() for row in rows]
    fields = CSV_FIELDS
    writer = csv.DictWriter(buffer, fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for item in flat:
        writer.writerow({k: ("" if v is None else v) for k, v in item.items() if k in fields})
    return buffer.getvalue()


def _step_ids(steps: Any) -> list[str]:
    """Step ids in order, from run.json's ``{app: [ids]}``."""
    if isinstance(steps, dict):
        return [step for ids in steps.values() for step in ids]
    return list(steps or [])


def sort_rows(rows: list[Row], manifest: dict[str, Any]) -> list[Row]:
    """Rows in the run's own order of servers, apps and steps (the run itself is shuffled)."""
    settings = manifest.get("settings") or {}
    rank = {
        "server": {name: i for i, name in enumerate(settings.get("servers") or [])},
        "app": {name: i for i, name in enumerate(settings.get("apps") or [])},
        "step": {name: i for i, name in enumerate(_step_ids(settings.get("steps")))},
    }

    def key(row: Row) -> tuple[int, str, int, str, int, float, str]:
        big = 1 << 30
        return (
            rank["server"].get(row.server, big),
            row.server,
            rank["app"].get(row.app, big),
            row.app,
            rank["step"].get(row.step, big),
            row.offered_rps or 0.0,
            row.step,
        )

    return sorted(rows, key=key)
