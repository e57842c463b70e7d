"""Service-level objectives: ``"p99<10ms,errors<0.1%"``, shared by ``run --slo`` and the
rate search.

An SLO is a comma-separated list of conditions ``METRIC OP VALUE``, OP one of ``<``,
``<=``, ``>``, ``>=``. Each metric reads one field of a summary row, and its value is
converted to that field's unit when parsed, so a check compares plain numbers:

========  =======================  ====================================================
metric    row field                value
========  =======================  ====================================================
p50 ...   p50_ms, p90_ms, p99_ms,  ``us``, ``ms`` or ``s``; a bare number means ms
p999      p999_ms
max       max_ms                   as above
errors    errors, requests         percent, ``%`` required: errors / (requests + errors)
rps       rps                      a bare number
cpu       cpu_us_per_request       ``us``, ``ms`` or ``s``; a bare number means us
========  =======================  ====================================================

``errors`` insists on ``%`` because ``errors<1`` could mean 1% or a share of 1 (100%), and
the two differ a hundredfold. ``requests`` counts successful requests only (see
:mod:`asgi_bench.results.repeat`), hence the sum in the denominator.

A check is three-valued: a condition that cannot be evaluated (its figure was not
measured) makes the verdict ``None``, never a pass; a condition that fails makes it
``False`` whatever else is missing, since measuring more cannot rescue it.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from asgi_bench.errors import UsageError
from asgi_bench.figures import FIGURES
from asgi_bench.verdict.limits import LATE_AT
from asgi_bench.verdict.stats import figure

_TIME = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}  # to ms
_CPU = {unit: factor * 1000 for unit, factor in _TIME.items()}  # to us

# The units a condition may use for a figure of each unit (asgi_bench.figures): units ->
# factor to the figure's unit, the factor of a bare number (None: a unit is required), and
# the unit to print.
_BY_UNIT: dict[str, tuple[dict[str, float], float | None, str]] = {
    "ms": (_TIME, 1.0, "ms"),
    "us": (_CPU, 1.0, "us"),
    "req/s": ({}, 1.0, ""),
}
_ERRORS = ("errors", {"%": 1.0}, None, "%")  # a share of the requests, not a row figure
# metric -> (row field, units -> factor, factor of a bare number or None, unit to print)
_METRICS: dict[str, tuple[str, dict[str, float], float | None, str]] = {
    metric: _ERRORS if field == "errors" else (field, *_BY_UNIT[FIGURES[field].unit])
    for metric, field in (
        ("p50", "p50_ms"),
        ("p90", "p90_ms"),
        ("p99", "p99_ms"),
        ("p999", "p999_ms"),
        ("max", "max_ms"),
        ("errors", "errors"),
        ("rps", "rps"),
        ("cpu", "cpu_us_per_request"),
    )
}
METRICS = tuple(_METRICS)
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
OPERATORS = tuple(_OPS)
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}  # shown beside a failed value

_PART = re.compile(r"(?P<metric>[^<>=!]*?)\s*(?P<op>[<>=!]+)\s*(?P<value>.*)", re.DOTALL)
_VALUE = re.compile(r"(?P<number>(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*(?P<unit>\S*)")

DEFAULT_SLO = "p99<100ms,errors<1%"

# The latency figures measured from the actual send as well as from the intended one.
_UNCORRECTED = {"p90_ms": "p90_uncorrected_ms", "p99_ms": "p99_uncorrected_ms"}
# What :func:`driver_decided` reads besides the objective's own fields.
DRIVER_FIELDS = (
    "late", "scheduled", "dropped", "requests", "errors", "driver_busy", *_UNCORRECTED.values()
)  # fmt: skip


@dataclass(frozen=True)
class Condition:
    metric: str  # p50, p90, p99, p999, max, errors, rps or cpu
    op: str  # <, <=, > or >=
    value: float  # in the unit of the row field: ms, percent, requests/s or us
    text: str  # as the user wrote it

    @property
    def field(self) -> str:
        return _METRICS[self.metric][0]

    def measure(self, values: Mapping[str, float | None]) -> float | None:
        """This condition's figure in ``values`` (row fields), or None if not measured."""
        if self.metric != "errors":
            return values.get(self.field)
        errors, requests = values.get("errors"), values.get("requests")
        if errors is None or requests is None or errors + requests == 0:
            return None
        return 100 * errors / (requests + errors)


@dataclass(frozen=True)
class Slo:
    conditions: tuple[Condition, ...]
    text: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The row fields :meth:`check` reads, e.g. ``{f: row.get(f) for f in slo.fields}``."""
        names: list[str] = []
        for condition in self.conditions:
            names += ["errors", "requests"] if condition.metric == "errors" else [condition.field]
        return tuple(dict.fromkeys(names))

    def check(self, values: Mapping[str, float | None]) -> tuple[bool | None, list[str]]:
        """(True, []) when every condition holds; else the verdict and, in condition order,
        one line per failed condition ("p99 12.3ms >= 10ms") or unmeasured one
        ("p99 not measured"). Any failure gives False, else anything unmeasured gives None."""
        failed, unmeasured, lines = False, False, []
        for condition in self.conditions:
            measured = condition.measure(values)
            if measured is None:
                unmeasured = True
                lines.append(f"{condition.metric} not measured")
            elif not _OPS[condition.op](measured, condition.value):
                failed = True
                unit = _METRICS[condition.metric][3]
                threshold = condition.text.split(condition.op, 1)[1].strip()
                negated = _NEGATED[condition.op]
                shown = figure(measured)
                if _OPS[condition.op](float(shown), condition.value):
                    # Rounded to 3 digits, 999.6 would read "rps 1000 < 1000".
                    shown = f"{measured:.6g}"
                lines.append(f"{condition.metric} {shown}{unit} {negated} {threshold}")
        if failed:
            return False, lines
        return (None, lines) if unmeasured else (True, [])

    def __str__(self) -> str:
        return self.text


def driver_decided(slo: Slo, values: Mapping[str, float | None]) -> bool:
    """Whether the driver's own lag, not the server, made an open-model step miss ``slo``.

    Corrected latency runs from each request's intended send, so it holds the driver's lag
    (intended -> dispatched) as well as the server's time. When the step dispatched over
    ``LATE_AT`` of its arrivals late, and the objective missed on the corrected p90/p99
    holds on the same figures measured from the actual send, the driver decided the verdict:
    the step says nothing about the server's capacity. ``values`` holds ``slo.fields`` and
    ``DRIVER_FIELDS``.

    >>> slo = parse_slo("p99<10ms")
    >>> step = {"p99_ms": 13.0, "p99_uncorrected_ms": 9.0, "late": 300, "requests": 10_000}
    >>> driver_decided(slo, step), driver_decided(slo, {**step, "late": 50})
    (True, False)
    """
    if slo.check(values)[0] is not False:
        return False
    late, requests = values.get("late"), values.get("requests")
    if not late or not requests:
        return False
    # The same share as the driver-limited rule's: of the arrivals the schedule held (rows
    # written before that count existed: of those answered, failed or dropped).
    arrivals = values.get("scheduled") or (
        requests + (values.get("errors") or 0) + (values.get("dropped") or 0)
    )
    if late / arrivals <= LATE_AT:
        return False
    return slo.check(_from_send(values))[0] is True


def missed_from_send(slo: Slo, values: Mapping[str, float | None]) -> bool:
    """Whether ``slo`` misses even on the figures measured from the actual send (p50 has
    only those): the driver's late dispatches, which only the corrected figures hold, did
    not decide the miss. ``values`` holds ``slo.fields`` and ``DRIVER_FIELDS``.

    >>> slo = parse_slo("p50<15ms")
    >>> missed_from_send(slo, {"p50_ms": 20.6}), missed_from_send(slo, {"p50_ms": 9.0})
    (True, False)
    """
    return slo.check(_from_send(values))[0] is False


def _from_send(values: Mapping[str, float | None]) -> dict[str, float | None]:
    from_send = dict(values)
    for corrected, uncorrected in _UNCORRECTED.items():
        if corrected in from_send:
            from_send[corrected] = values.get(uncorrected)
    return from_send


def parse_slo(text: str) -> Slo:
    """The SLO in ``text``; a :class:`UsageError` of one line names the first bad part."""
    if not text.strip():
        raise UsageError(f"empty --slo; write conditions like {DEFAULT_SLO}")
    conditions = tuple(_condition(part.strip(), text) for part in text.split(","))
    return Slo(conditions, text.strip())


def _condition(part: str, text: str) -> Condition:
    def bad(problem: str) -> UsageError:
        return UsageError(f"bad --slo part {part!r}: {problem}")

    choose_metric = f"choose from {', '.join(METRICS)}"
    if not part:
        raise UsageError(f"bad --slo {text!r}: an empty condition between commas")
    match = _PART.fullmatch(part)
    if match is None:
        raise bad(f"no operator; write METRIC OP VALUE with OP one of {', '.join(OPERATORS)}")
    metric, op, value_text = match["metric"].lower(), match["op"], match["value"]
    if not metric:
        raise bad(f"no metric before {op!r}; {choose_metric}")
    if metric not in _METRICS:
        raise bad(f"unknown metric {metric!r}; {choose_metric}")
    if op not in _OPS:
        raise bad(f"unknown operator {op!r}; choose from {', '.join(OPERATORS)}")
    _, units, bare, _ = _METRICS[metric]
    if metric == "errors":
        expected = "a percentage, e.g. errors<0.1%"
    elif not units:
        expected = f"a bare number, e.g. {metric}>1000"
    else:
        expected = f"a number with unit us, ms or s (a bare number means {_METRICS[metric][3]})"
    if not value_text:
        raise bad(f"no value after {op!r}; it takes {expected}")
    value = _VALUE.fullmatch(value_text.lower())
    if value is None:
        raise bad(f"value {value_text!r} is not {expected}")
    unit = value["unit"]
    factor = bare if not unit else units.get(unit)
    if factor is None:
        problem = "needs a unit" if not unit else f"does not take unit {unit!r}"
        raise bad(f"{metric} {problem}; it takes {expected}")
    number = float(value["number"]) * factor
    if metric == "errors" and number > 100:
        raise bad("errors is a share of requests: at most 100%")
    return Condition(metric, op, number, part)


DEFAULT = parse_slo(DEFAULT_SLO)
