"""Confidence intervals used by the sweep report: over seeds, and for pooled quantiles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(values: pd.Series, confidence: float = 0.95) -> tuple[float, float, int]:
    """Mean and half-width of its Student's t interval; half-width NaN below two values."""
    v = values.dropna().astype(float)
    n = len(v)
    if n == 0:
        return math.nan, math.nan, 0
    mean = float(v.mean())
    if n < 2:
        return mean, math.nan, n
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return mean, half, n


def quantile_ci(
    values: np.ndarray, q: float, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Sample quantile and a distribution-free interval from the binomial order statistics.

    Needs no assumption about the shape of the distribution (latency tails are far from
    normal); with too few samples for the upper bound it is infinite, not guessed.
    """
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    alpha = 1.0 - confidence
    lo = int(stats.binom.ppf(alpha / 2, n, q))
    hi = int(stats.binom.ppf(1 - alpha / 2, n, q)) + 1
    point = float(np.percentile(x, q * 100))
    lower = float(x[max(lo - 1, 0)]) if lo >= 1 else -math.inf
    upper = float(x[hi - 1]) if hi <= n else math.inf
    return point, lower, upper


def mean_pm(mean: float, half: float, pct: bool = False, digits: int = 4) -> str:
    """A report cell: the mean with its 95 % half-width ("-" without data; no half-width
    from a single run), as a percentage when ``pct``."""
    if math.isnan(mean):
        return "-"
    if pct:
        return f"{mean:.1%}" + ("" if math.isnan(half) else f" ± {half:.1%}")
    return f"{mean:.{digits}g}" + ("" if math.isnan(half) else f" ± {half:.2g}")
