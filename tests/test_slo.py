"""asgi_bench.verdict.slo: parsing (units converted to the row field's unit, one-line errors) and
checks (pass, fail with the measured value, not measured)."""

from __future__ import annotations

import re

import pytest

from asgi_bench.errors import UsageError
from asgi_bench.results.capacity import capacities
from asgi_bench.results.rows import Row
from asgi_bench.results.summary import apply_slo
from asgi_bench.verdict.slo import (
    DEFAULT,
    DEFAULT_SLO,
    Condition,
    Slo,
    driver_decided,
    missed_from_send,
    parse_slo,
)

METRICS = "choose from p50, p90, p99, p999, max, errors, rps, cpu"
OPERATORS = "choose from <, <=, >, >="


def test_parse() -> None:
    slo = parse_slo("p99<10ms,errors<0.1%")
    assert slo == Slo(
        (Condition("p99", "<", 10.0, "p99<10ms"), Condition("errors", "<", 0.1, "errors<0.1%")),
        "p99<10ms,errors<0.1%",
    )
    assert [c.field for c in slo.conditions] == ["p99_ms", "errors"]
    # errors reads two counts.
    assert slo.fields == ("p99_ms", "errors", "requests")


@pytest.mark.parametrize(
    ("text", "metric", "op", "value"),
    [
        ("p50<=500us", "p50", "<=", 0.5),  # 500 us = 0.5 ms
        ("p90>=3", "p90", ">=", 3.0),  # a bare number means ms
        ("p999<1.5ms", "p999", "<", 1.5),
        ("max<2s", "max", "<", 2000.0),  # 2 s = 2000 ms
        ("rps>1000", "rps", ">", 1000.0),
        ("cpu<50us", "cpu", "<", 50.0),
        ("cpu<0.1ms", "cpu", "<", 100.0),  # 0.1 ms = 100 us
        ("errors<=0%", "errors", "<=", 0.0),
        (" P99 < 10 MS ", "p99", "<", 10.0),  # spaces and case do not matter
    ],
)
def test_parse_units(text: str, metric: str, op: str, value: float) -> None:
    (condition,) = parse_slo(text).conditions
    assert (condition.metric, condition.op) == (metric, op)
    assert condition.value == pytest.approx(value)
    assert condition.text == text.strip()


def test_default() -> None:
    assert parse_slo(DEFAULT_SLO) == DEFAULT
    assert [(c.metric, c.op, c.value) for c in DEFAULT.conditions] == [
        ("p99", "<", 100.0),
        ("errors", "<", 1.0),
    ]
    assert str(DEFAULT) == "p99<100ms,errors<1%"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p98<1ms", f"bad --slo part 'p98<1ms': unknown metric 'p98'; {METRICS}"),
        (
            "p99<1ms,latency<5ms",
            f"bad --slo part 'latency<5ms': unknown metric 'latency'; {METRICS}",
        ),
        ("<5ms", f"bad --slo part '<5ms': no metric before '<'; {METRICS}"),
        ("p99=<1ms", f"bad --slo part 'p99=<1ms': unknown operator '=<'; {OPERATORS}"),
        ("p99==1ms", f"bad --slo part 'p99==1ms': unknown operator '=='; {OPERATORS}"),
        ("p99!=1ms", f"bad --slo part 'p99!=1ms': unknown operator '!='; {OPERATORS}"),
        (
            "errors<1",
            "bad --slo part 'errors<1': errors needs a unit; it takes a percentage, "
            "e.g. errors<0.1%",
        ),
        (
            "errors<1ms",
            "bad --slo part 'errors<1ms': errors does not take unit 'ms'; it takes a "
            "percentage, e.g. errors<0.1%",
        ),
        (
            "errors<200%",
            "bad --slo part 'errors<200%': errors is a share of requests: at most 100%",
        ),
        (
            "p99<10xs",
            "bad --slo part 'p99<10xs': p99 does not take unit 'xs'; it takes a number with "
            "unit us, ms or s (a bare number means ms)",
        ),
        (
            "rps>10ms",
            "bad --slo part 'rps>10ms': rps does not take unit 'ms'; it takes a bare number, "
            "e.g. rps>1000",
        ),
        (
            "p99<",
            "bad --slo part 'p99<': no value after '<'; it takes a number with unit us, ms or s "
            "(a bare number means ms)",
        ),
        (
            "p99<fast",
            "bad --slo part 'p99<fast': value 'fast' is not a number with unit us, ms or s "
            "(a bare number means ms)",
        ),
        (
            "garbage",
            "bad --slo part 'garbage': no operator; write METRIC OP VALUE with OP one of "
            "<, <=, >, >=",
        ),
        (
            "p99<10ms,,errors<1%",
            "bad --slo 'p99<10ms,,errors<1%': an empty condition between commas",
        ),
        ("p99<10ms,", "bad --slo 'p99<10ms,': an empty condition between commas"),
        ("  ", "empty --slo; write conditions like p99<100ms,errors<1%"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=f"^{re.escape(message)}$") as caught:
        parse_slo(text)
    assert "\n" not in str(caught.value)


SLO = parse_slo("p99<10ms,errors<0.1%")


def test_check_pass() -> None:
    # p99 9.9 < 10; errors 0 / (1000 + 0) = 0% < 0.1%.
    assert SLO.check({"p99_ms": 9.9, "errors": 0, "requests": 1000}) == (True, [])


def test_check_fail_names_each_failure() -> None:
    # p99 12.34 >= 10 (shown with 3 significant digits); errors 2 / (998 + 2) = 0.2% >= 0.1%.
    values = {"p99_ms": 12.34, "errors": 2, "requests": 998}
    assert SLO.check(values) == (False, ["p99 12.3ms >= 10ms", "errors 0.200% >= 0.1%"])
    # Only the failing one is named.
    values["p99_ms"] = 5.0
    assert SLO.check(values) == (False, ["errors 0.200% >= 0.1%"])


def test_check_boundaries() -> None:
    # Exactly at the threshold: < fails, <= passes.
    assert parse_slo("p99<10ms").check({"p99_ms": 10.0}) == (False, ["p99 10.0ms >= 10ms"])
    assert parse_slo("p99<=10ms").check({"p99_ms": 10.0}) == (True, [])
    assert parse_slo("rps>1000").check({"rps": 1000.0}) == (False, ["rps 1000 <= 1000"])
    # The threshold is shown as written: 0.01 s, not 10 ms.
    assert parse_slo("p99<0.01s").check({"p99_ms": 12.34}) == (False, ["p99 12.3ms >= 0.01s"])
    assert parse_slo("cpu<50us").check({"cpu_us_per_request": 52.14}) == (
        False,
        ["cpu 52.1us >= 50us"],
    )


def test_check_failure_not_hidden_by_rounding() -> None:
    # 999.6 to 3 significant digits is "1000", which would read "rps 1000 < 1000".
    assert parse_slo("rps>=1000").check({"rps": 999.6}) == (False, ["rps 999.6 < 1000"])


def test_check_not_measured() -> None:
    assert SLO.check({"p99_ms": None, "errors": 0, "requests": 1000}) == (
        None,
        ["p99 not measured"],
    )
    # A missing count, a missing key, or no requests at all: no error share.
    assert SLO.check({"p99_ms": 1.0, "errors": 0, "requests": None}) == (
        None,
        ["errors not measured"],
    )
    assert SLO.check({"p99_ms": 1.0}) == (None, ["errors not measured"])
    assert SLO.check({"p99_ms": 1.0, "errors": 0, "requests": 0}) == (
        None,
        ["errors not measured"],
    )


def test_check_failure_beats_not_measured() -> None:
    # Whatever p99 would be, errors 1 / (1 + 1) = 50% already fails.
    assert SLO.check({"p99_ms": None, "errors": 1, "requests": 1}) == (
        False,
        ["p99 not measured", "errors 50.0% >= 0.1%"],
    )


def test_check_summary_row() -> None:
    # A summary row supplies the fields through Row.get: 5 errors in 5 + 9995 = 0.05%.
    row = Row("uvicorn", "hello", "closed-32u", "closed", 32, None, "ok", "", 3, 3)
    row.values["p99_ms"] = 8.0
    row.counts.update(errors=5, requests=9995)
    slo = parse_slo("p99<10ms,errors<0.1%")
    assert slo.check({name: row.get(name) for name in slo.fields}) == (True, [])


# A step that missed p99<10ms at 13 ms from the intended send, 9 ms from the actual send.
LAGGED = {"p99_ms": 13.0, "p99_uncorrected_ms": 9.0, "late": 300, "requests": 10_000}


@pytest.mark.parametrize(
    ("change", "decided"),
    [
        ({}, True),  # 300 of 10,000 late (3%), and 9 ms from the send meets it: the driver's
        ({"late": 100}, False),  # 100 of 10,000 is 1%, not over it: the server's verdict
        ({"late": 99, "errors": 50, "dropped": 50, "requests": 9_900}, False),  # 99 / 10,000
        ({"late": 101, "errors": 50, "dropped": 50, "requests": 9_900}, True),  # 101 / 10,000
        ({"p99_uncorrected_ms": 11.0}, False),  # missed from the send too: the server's
        ({"p99_ms": 9.5}, False),  # met: nothing to explain
        ({"p99_uncorrected_ms": None}, False),  # not measured from the send: cannot tell
        ({"late": None}, False),  # a closed loop has no schedule to be late for
    ],
)
def test_driver_decided(change: dict[str, float | None], decided: bool) -> None:
    assert driver_decided(parse_slo("p99<10ms"), {**LAGGED, **change}) is decided


def test_driver_decided_only_for_figures_measured_from_the_send() -> None:
    # p50 has no uncorrected twin: a p50 miss stays the server's whatever the lag.
    values = {**LAGGED, "p50_ms": 2.0}
    assert driver_decided(parse_slo("p50<1ms"), values) is False
    # errors are not latency: 2 errors in 10,002 is 0.02%, over 0.01%, lag or not.
    assert driver_decided(parse_slo("p99<10ms,errors<0.01%"), {**values, "errors": 2}) is False


def test_missed_from_send_reads_the_uncorrected_twins_and_p50_as_it_is() -> None:
    # 13 ms from the intended send, 9 ms from the actual one: p99<10ms holds from the send.
    assert missed_from_send(parse_slo("p99<10ms"), LAGGED) is False
    assert missed_from_send(parse_slo("p99<8ms"), LAGGED) is True  # 9 ms misses 8 ms too
    # p50 is measured from the actual send only: its miss stands as it is.
    assert missed_from_send(parse_slo("p50<15ms"), {**LAGGED, "p50_ms": 20.6}) is True
    # Not measured from the send: it cannot be said to miss there.
    assert missed_from_send(parse_slo("p99<8ms"), {**LAGGED, "p99_uncorrected_ms": None}) is False


def _row(rate: float, p99: float, uncorrected: float, late: int) -> Row:
    row = Row("uvicorn", "hello", f"open-{rate:g}rps", "open", None, rate, "ok", "", 1, 1)
    row.values.update(p99_ms=p99, p99_uncorrected_ms=uncorrected)
    row.counts.update(errors=0, requests=int(rate * 5), late=late, dropped=0)
    row.bound = "neither"
    return row


def test_a_miss_the_driver_decided_bounds_the_capacity_from_below() -> None:
    # 4200 met p99<10ms; 4500 missed at 13 ms with 1571 of 22,500 late (7%) and met it at
    # 9.0 ms from the send: driver-limited, so 4200 is a lower bound the driver set.
    # 4800 missed from the send too (16.3 ms), but above a rate the driver could not serve
    # faithfully: the lowest rate above 4200 decides, as in the search.
    rows = [_row(4200, 8.4, 5.8, 1236), _row(4500, 13.0, 9.0, 1571), _row(4800, 20.4, 16.3, 2310)]
    apply_slo(rows, {"hello": "p99<10ms,errors<0.1%"})
    assert [r.slo_pass for r in rows] == [True, False, False]
    assert [r.bound for r in rows] == ["neither", "driver", "neither"]
    assert (
        rows[1].slo_detail
        == "p99 13.0ms >= 10ms; met from the actual send: the driver's lag decided it"
    )
    [found] = capacities(rows)
    assert (found.capacity_rps, found.lower_bound, found.limited_by) == (4200, True, "driver")


def test_a_failed_row_above_the_best_is_the_capacitys_edge() -> None:
    # 1000 met the SLO; 2000 failed (its repeats' errors): it has no SLO verdict of its
    # own, but the search stopped there, so 1000 is the capacity, not a lower bound.
    met = _row(1000, 5.0, 4.0, 0)
    failed = _row(2000, 50.0, 40.0, 0)
    failed.status, failed.reason = "failed", "12.0% of requests failed"
    apply_slo([met, failed], {"hello": "p99<10ms,errors<0.1%"})
    assert failed.slo is None
    [found] = capacities([met, failed])
    assert (found.capacity_rps, found.lower_bound, found.limited_by) == (1000, False, "slo")


def _late_row(rate: float, p50: float, driver_busy: float) -> Row:
    # 2 of 25 arrivals dispatched late (8%, over the 5% limit): the judge made it
    # driver-limited; its p50 is measured from the actual send.
    row = Row("uvicorn", "sleep", f"open-{rate:g}rps", "open", None, rate, "ok", "", 1, 1)
    row.values.update(p50_ms=p50, driver_busy=driver_busy)
    row.counts.update(errors=0, requests=25, late=2, scheduled=25, dropped=0)
    row.bound = "driver"
    return row


def test_a_late_driver_does_not_own_a_miss_that_stands_from_the_send() -> None:
    # The sleep app answers in 20 ms: p50<15ms misses at 20.6 ms whatever the lag, so at
    # 25 req/s the miss is the server's and the capacity is none, limited by the SLO.
    row = _late_row(25, 20.6, driver_busy=0.3)
    apply_slo([row], {"sleep": "p50<15ms"})
    assert (row.slo_pass, row.driver_bound, row.server_missed) == (False, True, True)
    said = "p50 20.6ms >= 15ms; missed from the actual send too: the server's miss"
    assert row.slo_detail == said
    [found] = capacities([row])
    assert (found.capacity_rps, found.lower_bound, found.limited_by) == (None, False, "slo")


def test_a_busy_driver_owns_even_the_figures_from_the_send() -> None:
    # 95% busy, the driver read the answers late too: the miss may be its own.
    row = _late_row(25, 20.6, driver_busy=0.95)
    apply_slo([row], {"sleep": "p50<15ms"})
    assert (row.slo_pass, row.server_missed, row.driver_ceiling) == (False, False, True)
    [found] = capacities([row])
    assert (found.capacity_rps, found.lower_bound, found.limited_by) == (None, True, "driver")
