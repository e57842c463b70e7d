"""The data model of a run: one :class:`Repeat` per measured window, and its (de)serialisation.

A repeat is one window on a fresh server process, for one (server, app) cell and one load
step. Every figure carries its unit in its name; a figure that could not be measured is
``None`` (null in JSON, empty in CSV) and the repeat's ``notes`` say why. It is never 0.
"""

from __future__ import annotations

import types
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from asgi_bench.errors import ResultsError
from asgi_bench.types import Bound, CountCheck, LoadShape, Status


@dataclass
class Repeat:
    server: str
    app: str
    step: str  # the step's id, e.g. closed-32u or open-1000rps
    repeat: int = 1  # 1-based
    load: LoadShape = "closed"
    tool: str | None = None  # a native step's tool and version (``wrk 4.1.0``); None: Locust
    http: str = "1.1"  # what the load spoke: an HTTP/2 step runs only once h2 was observed
    framework: str = "raw"  # the app's framework (``app`` names the variant: hello@fastapi)
    streams: int | None = None  # HTTP/2: requests multiplexed per connection, at most
    users: int | None = None
    offered_rps: float | None = None  # open model: the rate the driver was asked to send
    order: int = 0  # position in the run's shuffled order
    bare: bool = False  # --paired: measured without the middleware (its twin with it)
    middleware: str | None = None  # the server's build of it, mypyc or python; None: none
    status: Status = "failed"
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    window_s: float | None = None
    window: list[float] | None = None  # [start, end), unix seconds
    # Client side, successful requests in the window only; failures beside them by kind.
    requests: int | None = None
    rps: float | None = None
    errors: int | None = None
    non_2xx: int | None = None
    wrong_body: int | None = None
    exceptions: int | None = None
    unfinished: int | None = None  # sent, and still unanswered at the stop (a failure)
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    max_ms: float | None = None
    ttfb_p50_ms: float | None = None  # streaming and SSE: time to the response headers
    ttfb_p99_ms: float | None = None
    first_p50_ms: float | None = None  # time to the first chunk or event
    first_p99_ms: float | None = None
    # Open model.
    scheduled: int | None = None  # arrivals the schedule held for the window
    achieved_rps: float | None = None  # requests a connection put on the wire, per second
    late: int | None = None  # dispatched more than the lag threshold after their intended time
    dropped: int | None = None  # never sent: too many waiting for a slot, or at the stop
    p90_uncorrected_ms: float | None = None  # from the actual send, not the intended one
    p99_uncorrected_ms: float | None = None
    lag_p99_ms: float | None = None  # intended -> actual send
    # Cost, over the same window.
    cpu_us_per_request: float | None = None
    server_busy: float | None = None  # share of min(workers, server CPUs)
    peak_rss_mib: float | None = None
    memory_kind: str | None = None  # rss, pss (several processes) or cgroup (a container)
    driver_busy: float | None = None  # the busiest driver process (a master excluded)
    bound: Bound | None = None  # driver: driver-limited (asgi_bench.verdict.limits)
    # Server side (the middleware): time inside the app, and the count check.
    app_p50_ms: float | None = None
    app_p90_ms: float | None = None
    app_p99_ms: float | None = None
    app_ttfb_p50_ms: float | None = None
    # --profile: in-app time split (collectors/calls.py): the app's own, comparable across
    # servers, and the time inside the server's send and receive, which is the server's
    app_own_p50_ms: float | None = None
    in_server_p50_ms: float | None = None
    server_ok_window: int | None = None  # successful requests the server completed
    server_requests_window: int | None = None
    server_requests_total: int | None = None
    client_requests_total: int | None = None
    count_check: CountCheck = "not made"
    count_detail: str = ""
    unsteady: str = ""  # why the window's per-second series does not look steady
    silent_s: float | None = None  # longest run of whole seconds with no answer, if any
    interference: float | None = None  # share of the pinned CPUs' time that went elsewhere
    workers: int = 1
    tls: bool = False
    # Not in the CSV: nested data.
    capabilities: dict[str, bool] = field(default_factory=dict)
    capability_details: dict[str, str] = field(default_factory=dict)
    log_tail: str = ""
    # --profile: where the window's CPU went (asgi_bench.verdict.profile.Profile.to_dict)
    profile: dict[str, Any] | None = None

    @property
    def cell(self) -> str:
        return f"{self.server}/{self.app}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Repeat:
        """The inverse of :meth:`to_dict`; unknown or mistyped fields are refused, not
        dropped, so a damaged file is reported instead of read wrong."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"schema"})
        if unknown:
            raise ResultsError(f"unknown fields {unknown}")
        try:
            repeat = cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ResultsError(str(exc)) from exc
        _check_types(repeat)
        return repeat


def _check_types(repeat: Repeat) -> None:
    """Each field holds what its annotation says; a word (a Literal) one of its words."""
    hints = typing.get_type_hints(Repeat)
    for f in fields(repeat):
        value = getattr(repeat, f.name)
        kinds = typing.get_args(hints[f.name]) if _is_union(hints[f.name]) else (hints[f.name],)
        if value is None:
            if type(None) not in kinds:
                raise ResultsError(f"{f.name} is null")
            continue
        for kind in kinds:
            if typing.get_origin(kind) is Literal:
                words = typing.get_args(kind)
                if value not in words:
                    choices = ", ".join(map(str, words))
                    raise ResultsError(f"{f.name} {value!r} is not one of {choices}")
                break
            if kind in _SCALARS and not _SCALARS[kind](value):
                name = getattr(kind, "__name__", kind)
                raise ResultsError(f"{f.name} should be {name}, got {type(value).__name__}")


_SCALARS: dict[object, typing.Callable[[object], bool]] = {
    str: lambda v: isinstance(v, str),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    bool: lambda v: isinstance(v, bool),
}


def _is_union(hint: object) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)
