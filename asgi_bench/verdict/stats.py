"""Statistics over the repeats of one (cell, step), and how many digits a figure deserves.

Choices, and why:

* The central value is the **median** of the repeats: one disturbed window (a noisy
  neighbour, a GC pause) moves it less than it moves the mean.
* Its 95% interval, with **n >= 6** repeats, is the distribution-free order-statistic
  interval for the median, as benchstat uses: ``[x_(k), x_(n-k+1)]`` with ``k`` the largest
  integer such that ``P(Binomial(n, 1/2) <= k-1) <= 0.025``. It covers the true median with
  probability >= 95% whatever the distribution of the values (method ``"order"``).
* With **2 <= n < 6** no distribution-free 95% interval exists: even ``[min, max]`` of five
  values covers the median with probability only ``1 - 2/2**5 = 93.75%``. There we fall back
  to the Student-t interval of the **mean**, ``mean ± t(0.975, n-1)·s/√n``, which assumes
  roughly normal values and is centred on the mean, not the median (method ``"t"``).
* The coefficient of variation is the sample standard deviation (ddof=1) over ``|mean|``.
* :func:`change` compares two sets of repeats with **Welch's t-test** rather than the
  Mann-Whitney U test: with 3 repeats per side the exact two-sided Mann-Whitney p-value
  cannot go below ``2/C(6,3) = 0.1``, so no change could ever reach 0.05. Welch does not
  assume equal variances, which matters when one server is steadier than the other.
* A percentile q is trusted from ``10 / (1 - q/100)`` samples on: then at least 10 samples
  lie above it (p99 needs 1,000 samples, p99.9 10,000; ``max`` follows the p99.9 rule).
* :func:`figure` prints only the digits the interval supports.

scipy is imported inside the functions that need it: it takes over a second to import, and
the CLI and :mod:`asgi_bench.verdict.slo` import this module for :func:`figure` alone.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import comb
from typing import Literal

MAX_PERCENTILE = 99.9  # the rule that stands for "max" in min_samples()


@dataclass(frozen=True)
class Spread:
    n: int  # values used (None values are dropped first)
    median: float | None  # None if n == 0
    ci95: tuple[float, float] | None  # 95% interval for the central value; None if n < 2
    method: str  # "order" (n >= 6), "t" (2 <= n < 6), "none" (n < 2)
    cv: float | None  # sample std (ddof=1) / |mean|; None if n < 2 or mean == 0


@functools.lru_cache(maxsize=256)
def _t975(df: float) -> float:
    from scipy.stats import t

    return float(t.ppf(0.975, df))


def order_k(n: int) -> int:
    """The largest k with P(Binomial(n, 1/2) <= k-1) <= 0.025; 0 when none (n < 6)."""
    # Exact integers: P(X <= j) <= 1/40  <=>  40 · sum C(n, i) <= 2**n.
    k, cumulative = 0, 0
    for j in range(n + 1):
        cumulative += comb(n, j)
        if 40 * cumulative > 2**n:
            break
        k = j + 1
    return k


def spread(values: Sequence[float | None]) -> Spread:
    found = sorted(float(v) for v in values if v is not None)
    n = len(found)
    if n == 0:
        return Spread(0, None, None, "none", None)
    median = statistics.median(found)
    if n < 2:
        return Spread(n, median, None, "none", None)
    mean = statistics.fmean(found)
    s = statistics.stdev(found)
    cv = s / abs(mean) if mean != 0 else None
    if n >= 6:
        k = order_k(n)
        return Spread(n, median, (found[k - 1], found[n - k]), "order", cv)
    half = _t975(n - 1) * s / math.sqrt(n)
    return Spread(n, median, (mean - half, mean + half), "t", cv)


def noisy(s: Spread, threshold: float) -> bool | None:
    return None if s.cv is None else s.cv > threshold


def steady(series: Sequence[float], threshold: float = 0.10) -> str | None:
    """None if the per-second ``series`` of one window looks steady, else a one-line reason.

    Two tests, each relative to the window's mean: the least-squares trend over the whole
    window, and the step between the mean of its first and second halves (an odd middle
    point goes to the second half). A step also makes a trend and a trend makes a step, so
    when both exceed ``threshold`` the reason names the shape that fits the series better
    (the smaller residual sum of squares).
    """
    n = len(series)
    if n < 4:
        return None
    mean = statistics.fmean(series)
    if mean == 0:
        return None
    x_mean = (n - 1) / 2
    sxx = sum((x - x_mean) ** 2 for x in range(n))
    slope = sum((x - x_mean) * (y - mean) for x, y in enumerate(series)) / sxx
    trend = slope * (n - 1) / abs(mean)
    first, second = series[: n // 2], series[n // 2 :]
    first_mean, second_mean = statistics.fmean(first), statistics.fmean(second)
    step = (second_mean - first_mean) / abs(mean)
    trend_reason = f"trend: {trend:+.0%} over the window"
    step_reason = f"step: {step:+.0%} between halves"
    if abs(trend) > threshold and abs(step) > threshold:
        rss_line = sum((y - mean - slope * (x - x_mean)) ** 2 for x, y in enumerate(series))
        rss_step = sum((y - first_mean) ** 2 for y in first)
        rss_step += sum((y - second_mean) ** 2 for y in second)
        return step_reason if rss_step < rss_line else trend_reason
    if abs(trend) > threshold:
        return trend_reason
    if abs(step) > threshold:
        return step_reason
    return None


@dataclass(frozen=True)
class Change:
    ratio: float | None  # median_b / median_a
    ci95: tuple[float, float] | None  # interval for the ratio
    p: float | None  # two-sided
    significant: bool


def change(a: Sequence[float], b: Sequence[float], alpha: float = 0.05) -> Change:
    """How ``b`` compares with ``a``: the ratio of medians and Welch's t-test.

    The ratio's interval is the Welch 95% interval for ``mean_b - mean_a``, divided by
    ``mean_a``, plus 1; it is about means, so with skewed repeats it need not be centred on
    the ratio of medians. Fewer than 2 values on either side: the ratio only.
    """
    ratio = None
    if a and b:
        median_a = statistics.median(a)
        ratio = statistics.median(b) / median_a if median_a != 0 else None
    if len(a) < 2 or len(b) < 2:
        return Change(ratio, None, None, False)
    mean_a, mean_b = statistics.fmean(a), statistics.fmean(b)
    var_a, var_b = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    diff = mean_b - mean_a
    if var_a == 0 and var_b == 0:
        # The t statistic is 0/0 or ±∞ here: the samples are exact, so is their difference.
        p = 0.0 if diff != 0 else 1.0
        low = high = diff
    else:
        from scipy.stats import ttest_ind

        p = float(ttest_ind(b, a, equal_var=False).pvalue)
        se = math.sqrt(var_a + var_b)
        # Welch-Satterthwaite degrees of freedom.
        df = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
        half = _t975(df) * se
        low, high = diff - half, diff + half
    ci = (low / mean_a + 1, high / mean_a + 1) if mean_a != 0 else None
    return Change(ratio, ci, p, p < alpha)


def min_samples(percentile: float | Literal["max"]) -> int:
    """Samples needed to trust ``percentile`` (e.g. 99.9 or "max"): 10 / (1 - q/100)."""
    q = Fraction(str(MAX_PERCENTILE if percentile == "max" else percentile))
    if not 0 <= q < 100:
        raise ValueError(f"percentile {percentile} is not in [0, 100)")
    # Fraction of the decimal text, not of the float: 10 / (1 - 0.99) is 1000.0000000000009.
    return math.ceil(10 / (1 - q / 100))


def enough_samples(percentile: float | Literal["max"], n: float) -> bool:
    return n >= min_samples(percentile)


def _exponent(value: float) -> int:
    """The decade of ``value``: floor(log10(|value|)), exact for decimal text (0.1 -> -1)."""
    return Decimal(repr(abs(value))).adjusted()


def figure(value: float | None, ci95: tuple[float, float] | None = None) -> str:
    """``value`` with the digits its interval supports, else 3 significant digits.

    With an interval: rounded to the decade of its half-width (half-width 35 -> tens,
    0.045 -> hundredths). Without one: 3 significant digits, but integer digits are never
    dropped (12345.6 -> "12346", not "12300").
    """
    if value is None:
        return "–"
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    half = None if ci95 is None else abs(ci95[1] - ci95[0]) / 2
    if half is not None and half > 0 and math.isfinite(half):
        places = -_exponent(half)
    else:
        places = max(2 - _exponent(value), 0)
        rounded = round(value, places)
        if rounded != 0:
            # 9.996 rounds up to 10.0: count its significant digits again.
            places = max(2 - _exponent(rounded), 0)
    rounded = round(value, places) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{rounded:.{max(places, 0)}f}"
