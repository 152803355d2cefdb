"""Statistics over replications: Student-t intervals and paired differences."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """Mean of ``n`` replications with a two-sided ``confidence`` interval."""

    mean: float
    sd: float
    n: int
    half_width: float
    confidence: float = 0.95

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @property
    def relative_half_width(self) -> float:
        return abs(self.half_width / self.mean) if self.mean else math.inf

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@functools.lru_cache(maxsize=256)
def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student-t critical value (cached: comparison tables ask it thousands of times).

    ``scipy.special.stdtrit`` is the function ``scipy.stats.t.ppf`` evaluates, so the
    value is the same to the last bit; importing it costs ~0.3 s, ``scipy.stats`` ~1.1 s.
    """
    from scipy.special import stdtrit  # on first use: CLI start-up and workers skip it

    return float(stdtrit(dof, 0.5 + confidence / 2))


def t_interval(values, confidence: float = 0.95) -> Interval:
    """Student-t interval for the mean of independent replications.

    With one replication the half-width is infinite: nothing can be said.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan, confidence)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, math.nan, 1, math.inf, confidence)
    sd = float(x.std(ddof=1))
    t = t_quantile(confidence, n - 1)
    return Interval(mean, sd, n, t * sd / math.sqrt(n), confidence)


def paired_difference(values, baseline_values, confidence: float = 0.95) -> Interval:
    """Interval for mean(values - baseline) over replications paired by index.

    Valid because strategies in a replication share common random numbers: the
    difference per replication is one observation, and replications are independent.
    """
    a = np.asarray(values, dtype=float)
    b = np.asarray(baseline_values, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired values must have the same length")
    return t_interval(a - b, confidence)


def unpaired_difference(values, baseline_values, confidence: float = 0.95) -> Interval:
    """Welch interval for a difference, as if the runs were independent (for contrast)."""
    a = np.asarray(values, dtype=float)
    b = np.asarray(baseline_values, dtype=float)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(float(a.mean() - b.mean()), 0.0, a.size, 0.0, confidence)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    t = t_quantile(confidence, dof) if float(dof).is_integer() else _t_quantile_real(confidence, dof)
    return Interval(float(a.mean() - b.mean()), se * math.sqrt(a.size), a.size, t * se, confidence)


def _t_quantile_real(confidence: float, dof: float) -> float:
    """Student-t quantile for a non-integer dof (Welch)."""
    from scipy.special import stdtrit

    return float(stdtrit(dof, 0.5 + confidence / 2))
