"""asgi_bench.verdict.stats on small constructed samples; every expected value is worked out by hand
in the comments (t quantiles from tables: t(0.975, 1) = 12.706205, t(0.975, 2) = 4.302653,
t(0.975, 4) = 2.776445)."""

from __future__ import annotations

import math

import pytest

from asgi_bench.verdict.stats import (
    Spread,
    change,
    enough_samples,
    figure,
    min_samples,
    noisy,
    order_k,
    spread,
    steady,
)


def test_spread_empty() -> None:
    # Nothing left once None is dropped: no median, no interval, no CV.
    assert spread([]) == Spread(0, None, None, "none", None)
    assert spread([None, None]) == Spread(0, None, None, "none", None)


def test_spread_one_value() -> None:
    # n = 1: a median, but no spread to speak of.
    assert spread([5.0, None]) == Spread(1, 5.0, None, "none", None)


def test_spread_two_values_t_interval() -> None:
    # [10, 14]: median = mean = 12, s = sqrt((2² + 2²) / 1) = 2√2 = 2.828427.
    # Half-width t(0.975, 1)·s/√2 = 12.706205 · 2 = 25.412409: [-13.412409, 37.412409].
    # CV = 2.828427 / 12 = 0.235702.
    s = spread([10, 14])
    assert (s.n, s.median, s.method) == (2, 12, "t")
    assert s.ci95 == pytest.approx((-13.412409, 37.412409), abs=1e-5)
    assert s.cv == pytest.approx(0.235702, abs=1e-6)


def test_spread_three_values_t_interval() -> None:
    # [10, 12, 11]: median 11, mean 11, s = sqrt((1 + 1 + 0) / 2) = 1.
    # 11 ± 4.302653 · 1/√3 = 11 ± 2.484138 = [8.515862, 13.484138]; CV = 1/11.
    s = spread([10, 12, None, 11])
    assert (s.n, s.median, s.method) == (3, 11, "t")
    assert s.ci95 == pytest.approx((8.515862, 13.484138), abs=1e-5)
    assert s.cv == pytest.approx(1 / 11)


def test_spread_six_values_order_interval() -> None:
    # n = 6: P(B(6, ½) <= 0) = 1/64 = 0.0156 <= 0.025, P(B <= 1) = 7/64 = 0.109 > 0.025,
    # so k = 1 and the interval is [x_(1), x_(6)] = [min, max] = [1, 6]; coverage
    # 1 - 2/64 = 96.9%. Median (3 + 4)/2 = 3.5; s² = (2·(2.5² + 1.5² + 0.5²))/5 = 3.5, so
    # CV = √3.5 / 3.5 = 0.534522.
    s = spread([5, 1, 4, 2, 6, 3])
    assert order_k(6) == 1
    assert (s.n, s.median, s.ci95, s.method) == (6, 3.5, (1.0, 6.0), "order")
    assert s.cv == pytest.approx(0.534522, abs=1e-6)


def test_spread_ten_values_order_interval() -> None:
    # n = 10: P(B(10, ½) <= 1) = 11/1024 = 0.0107 <= 0.025, P(B <= 2) = 56/1024 = 0.0547,
    # so k = 2: [x_(2), x_(9)] = [2, 9]. Median 5.5; s² = 82.5/9 = 9.166667, s = 3.027650,
    # CV = 3.027650 / 5.5 = 0.550482.
    s = spread([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    assert order_k(10) == 2
    assert (s.n, s.median, s.ci95, s.method) == (10, 5.5, (2.0, 9.0), "order")
    assert s.cv == pytest.approx(0.550482, abs=1e-6)


def test_order_k_table() -> None:
    # n = 5: P(B <= 0) = 1/32 = 0.03125 > 0.025: no k at all, hence the t fallback below 6.
    # n = 9: P(B <= 1) = 10/512 = 0.0195, P(B <= 2) = 46/512 = 0.0898 -> k = 2.
    # n = 20: P(B <= 5) = 21700/2²⁰ = 0.0207, P(B <= 6) = 60460/2²⁰ = 0.0577 -> k = 6.
    assert [order_k(n) for n in (1, 5, 6, 8, 9, 20)] == [0, 0, 1, 1, 2, 6]


def test_cv_undefined_for_zero_mean() -> None:
    # [-1, 1]: mean 0, so the CV is undefined; the interval still exists.
    s = spread([-1, 1])
    assert s.cv is None
    assert s.ci95 is not None


def test_noisy() -> None:
    # CV of [10, 12, 11] is 1/11 = 0.0909: above 5%, not above 10%.
    s = spread([10, 12, 11])
    assert noisy(s, 0.05) is True
    assert noisy(s, 0.10) is False
    assert noisy(spread([10]), 0.05) is None


def test_steady_flat() -> None:
    # Constant: slope 0, both halves 100. The noisy one: deviations 0, 1, -1, 0, 0, -1, 1, 0
    # against x - 3.5 give Sxy = -2.5 + 1.5 - 1.5 + 2.5 = 0, and both halves average 100.
    assert steady([100.0] * 10) is None
    assert steady([100, 101, 99, 100, 100, 99, 101, 100]) is None


def test_steady_trend() -> None:
    # y = 100 - 4x, x = 0..5: mean 90, slope -4, trend -4·5/90 = -22.2%; halves average 96
    # and 84, a step of -12/90 = -13.3%. Both exceed 10%; the line fits exactly (RSS 0,
    # against 2·(4² + 0 + 4²) = 64 for two levels), so the reason is the trend.
    series = [100, 96, 92, 88, 84, 80]
    assert steady(series) == "trend: -22% over the window"
    # Neither exceeds 25%.
    assert steady(series, threshold=0.25) is None


def test_steady_trend_only() -> None:
    # y = 94 + 4x, x = 0..3: mean 100, trend 4·3/100 = +12%; halves 96 and 104: step 8%,
    # under the threshold.
    assert steady([94, 98, 102, 106]) == "trend: +12% over the window"


def test_steady_step() -> None:
    # Four seconds at 100 then four at 120: mean 110, step 20/110 = +18.2%. The line:
    # Sxx = 8·63/12 = 42, Sxy = 10·(0.5+1.5+2.5+3.5)·2 = 160, slope 3.8095, trend
    # 3.8095·7/110 = +24.2%. Both exceed; two levels fit exactly (RSS 0), so: a step.
    assert steady([100, 100, 100, 100, 120, 120, 120, 120]) == "step: +18% between halves"


def test_steady_cannot_tell() -> None:
    # Fewer than 4 points, or a mean of 0: no verdict.
    assert steady([1, 100, 1]) is None
    assert steady([]) is None
    assert steady([0, 0, 0, 0]) is None


def test_change_identical_zero_variance() -> None:
    # Both samples constant and equal: t is 0/0, so p is set to 1; ratio 100/100 = 1.
    c = change([100, 100, 100], [100, 100, 100])
    assert (c.ratio, c.ci95, c.p, c.significant) == (1.0, (1.0, 1.0), 1.0, False)


def test_change_identical_with_variance() -> None:
    # [99, 100, 101] twice: t = 0, p = 1. Each s²/n = 1/3, se = √(2/3) = 0.816497,
    # df = (2/3)² / (2·(1/3)²/2) = 4, half-width 2.776445 · 0.816497 = 2.266966;
    # ratio interval 1 ± 0.02266966.
    c = change([99, 100, 101], [99, 100, 101])
    assert c.ratio == 1.0
    assert c.p == pytest.approx(1.0)
    assert not c.significant
    assert c.ci95 == pytest.approx((0.977330, 1.022670), abs=1e-6)


def test_change_zero_variance_different_means() -> None:
    # Both constant, 100 vs 80: exactly different, p = 0; ratio and interval 0.8.
    c = change([100, 100, 100], [80, 80, 80])
    assert c.ratio == pytest.approx(0.8)
    assert c.ci95 == pytest.approx((0.8, 0.8))
    assert (c.p, c.significant) == (0.0, True)


def test_change_scaled_copy_is_significant() -> None:
    # a = [100, 102, 98]: mean 100, s² = 4, s²/n = 1.333333.
    # b = 0.8·a with noise = [80, 81.9, 78.1]: mean 80, s² = (1.9² + 1.9²)/2 = 3.61,
    # s²/n = 1.203333. Ratio of medians 80/100 = 0.8.
    # se = √2.536667 = 1.592692, t = -20/1.592692 = -12.557, Welch df =
    # 2.536667² / (1.333333²/2 + 1.203333²/2) = 6.434678 / 1.612894 = 3.98952,
    # two-sided p = 0.000235. t(0.975, 3.98952) = 2.779323, half = 4.426605: the difference
    # lies in [-24.426605, -15.573395], the ratio in [0.755734, 0.844266].
    c = change([100, 102, 98], [80, 81.9, 78.1])
    assert c.ratio == pytest.approx(0.8)
    assert c.p == pytest.approx(0.000235, abs=1e-6)
    assert c.significant
    assert c.ci95 == pytest.approx((0.755734, 0.844266), abs=1e-6)
    # The same data at alpha = 0.0001 is not significant.
    assert not change([100, 102, 98], [80, 81.9, 78.1], alpha=0.0001).significant


def test_change_needs_two_per_side() -> None:
    # n = 1 on one side: the ratio of medians (80.5/100) only.
    c = change([100], [80, 81])
    assert c.ratio == pytest.approx(0.805)
    assert (c.ci95, c.p, c.significant) == (None, None, False)
    assert change([], [80, 81]).ratio is None


def test_min_samples() -> None:
    # 10 / (1 - q/100): p50 -> 20, p90 -> 100, p99 -> 1,000, p99.9 and max -> 10,000,
    # p99.99 -> 100,000 (exact: 10 / (1 - 0.99) in floats would be 1000.0000000000009).
    assert min_samples(50) == 20
    assert min_samples(90) == 100
    assert min_samples(99) == 1_000
    assert min_samples(99.9) == 10_000
    assert min_samples("max") == 10_000
    assert min_samples(99.99) == 100_000
    with pytest.raises(ValueError):
        min_samples(100)


def test_enough_samples_boundaries() -> None:
    assert not enough_samples(99, 999)
    assert enough_samples(99, 1_000)
    assert not enough_samples(99.9, 9_999)
    assert enough_samples(99.9, 10_000)
    assert not enough_samples("max", 9_999)
    assert enough_samples("max", 10_000)


@pytest.mark.parametrize(
    ("value", "ci", "text"),
    [
        # Half-width 35: decade 10 -> 1234.567 rounds to 1230.
        (1234.567, (1200, 1270), "1230"),
        # Half-width 0.045: decade 0.01 -> 2.35.
        (2.34567, (2.30, 2.39), "2.35"),
        # Half-width 350: decade 100 -> 12300.
        (12345.6, (12000, 12700), "12300"),
        # Half-width 0.5: decade 0.1 -> 1234.6.
        (1234.567, (1234.0, 1235.0), "1234.6"),
        # No interval: 3 significant digits, integer digits kept.
        (12345.6, None, "12346"),
        (2.34567, None, "2.35"),
        (0.012345, None, "0.0123"),
        (-2.34567, None, "-2.35"),
        (123.4, None, "123"),
        # 9.996 rounds up to 10.0, which has 3 significant digits with one decimal.
        (9.996, None, "10.0"),
        # A zero-width interval says nothing about digits: 3 significant digits.
        (2.34567, (2.34567, 2.34567), "2.35"),
        # Rounded to units, -0.4 is 0, not "-0".
        (-0.4, (-3.0, 3.0), "0"),
        (0.0, None, "0"),
        (None, None, "–"),
    ],
)
def test_figure(value: float | None, ci: tuple[float, float] | None, text: str) -> None:
    assert figure(value, ci) == text


def test_figure_not_finite() -> None:
    assert figure(math.inf) == "inf"
