"""The latency spectrum's arithmetic, on constructed histograms and rows."""

from __future__ import annotations

import pytest

from asgi_bench.report.charts.spectrum import comparable, spectrum
from asgi_bench.results.rows import Row
from tests.test_arithmetic import hdr as hist


def test_the_spectrum_goes_as_far_as_the_samples_hold():
    # 1,000 to 100,000 us in steps of 1,000 (100 values), over two histograms merged.
    xs, ys = spectrum([hist(*range(1000, 51000, 1000)), hist(*range(51000, 101000, 1000))])
    # Percentiles 1 - 10^(-k/10): k = 20 is 99%, with one sample beyond it of the 100: the
    # last drawn (99.2% would leave 0.8 of a sample).
    assert len(xs) == 21 and xs[0] == 1 and xs[-1] == pytest.approx(100)
    assert xs[10] == pytest.approx(10)  # k = 10: 90%, drawn at 1/(1 - 0.9)
    # HDR's value at 90%: the 90th of 100 -> 90,000 us (within its 3 digits) = 90 ms.
    assert ys[10] == pytest.approx(90.0, rel=1e-3)
    assert ys == sorted(ys)


def row(server: str, load: str, rate: float | None, status: str = "ok", bound: bool = False) -> Row:
    step = f"open-{rate:.0f}rps" if load == "open" else "closed-8u"
    found = Row(server, "hello", step, load, 8, rate, status, "", 1, 1)  # type: ignore[arg-type]
    found.bound = "driver" if bound else None
    return found


def test_the_spectrum_compares_the_highest_rate_every_server_measured_itself():
    rows = [
        row("uvicorn", "open", 300.0),
        row("granian", "open", 300.0),
        row("uvicorn", "open", 1200.0),
        row("granian", "open", 1200.0, bound=True),  # the driver's figure, not granian's
        row("uvicorn", "closed", None),
        row("granian", "closed", None),
    ]
    assert [(r.server, r.offered_rps) for r in comparable(rows, "hello")] == [
        ("uvicorn", 300.0),
        ("granian", 300.0),
    ]
    # No open rate they share: their closed loop; neither: nothing to draw.
    assert {r.load for r in comparable(rows[2:], "hello")} == {"closed"}
    assert comparable([rows[2], row("granian", "closed", None, status="failed")], "hello") == []


def test_every_line_and_bar_gets_its_values_as_a_tooltip():
    import matplotlib.pyplot as plt

    from asgi_bench.report.charts._hover import mark

    figure, (left, right) = plt.subplots(1, 2)
    left.plot([300, 1200], [0.23, 0.41], label="uvicorn")
    left.plot([0, 1], [0, 1])  # unlabelled: matplotlib's own, no tooltip
    right.bar([0, 1], [12687.0, 4396.0], tick_label=["granian", "hypercorn"])
    titles = mark(figure)
    plt.close(figure)
    assert sorted(titles.values()) == [
        "granian: 12,687",
        "hypercorn: 4,396",
        "uvicorn: 300 → 0.23, 1,200 → 0.41",
    ]
