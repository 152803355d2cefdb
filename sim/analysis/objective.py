"""What "best" means for map and optimise: an objective metric and constraints.

The objective is a metric of ``summary.parquet`` (higher is better; default
``connects_per_rep_hour``). A constraint is a predicate over one strategy's summary
rows at one point (one row per replication): a strategy that breaks it cannot win
a point of a map nor be returned by the optimiser. The first constraint is the
abandon-rate cap regulators set (US TCPA/FCC and UK Ofcom: 3% of live answers,
AMD hang-ups on people counted as abandoned): a cap is held with confidence, not on
average, so the high end of the 95% interval of ``abandon_rate_with_amd`` over
replications must not exceed it (as ``[constraints]`` judge a run: sim.analysis.constraints).

Other objectives and constraints plug in here: :class:`Objective` takes any metric
name, and anything with ``name``, ``describe()`` and ``ok(rows)`` is a constraint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from sim.analysis.metrics import METRIC_NAMES
from sim.errors import UserError

DEFAULT_OBJECTIVE = "connects_per_rep_hour"


class Constraint(Protocol):
    name: str

    def ok(self, rows: dict[str, np.ndarray]) -> bool:
        """``rows``: metric -> one value per replication of one strategy at one point."""
        ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class MaxUpperBound:
    """The high end of the 95% t interval of ``metric`` over replications must be at
    most ``limit``: a cap held with confidence, judged exactly as a ``[constraints]``
    cap is (:class:`sim.analysis.constraints.Check`)."""

    metric: str
    limit: float
    name: str = ""
    label: str = ""  # what is capped, in words (default: the metric's name)

    def check(self, values) -> "Check":
        """The cap applied to one strategy's values (one per replication)."""
        from sim.analysis.constraints import Check
        from sim.analysis.stats import t_interval

        values = np.asarray(values, dtype=float)
        return Check(self.name or self.metric, self.label or self.metric.replace("_", " "),
                     float(self.limit),
                     t_interval(values[np.isfinite(values)].tolist()), True)

    def ok(self, rows: dict[str, np.ndarray]) -> bool:
        return self.check(rows[self.metric]).complies

    def describe(self) -> str:
        return f"{self.metric} <= {self.limit:g} (high end of its 95% interval)"


def max_abandon(limit: float | None, option: str = "--max-abandon") -> list[MaxUpperBound]:
    """The abandon-rate cap (AMD hang-ups counted), or no constraint when ``limit`` is None."""
    if limit is None:
        return []
    if not 0 <= limit <= 1:
        raise UserError(f"{option} {limit:g}: must be a fraction between 0 and 1 (0.03 = 3%)")
    return [MaxUpperBound("abandon_rate_with_amd", limit, "abandon",
                          "abandon rate with AMD (campaign)")]


@dataclass(frozen=True)
class Objective:
    """Maximise the mean of ``metric``; ``constraints`` decide who may win."""

    metric: str = DEFAULT_OBJECTIVE
    constraints: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if self.metric not in METRIC_NAMES:
            raise UserError(f"--objective {self.metric}: not a metric; choose from: "
                            f"{', '.join(METRIC_NAMES[:6])}, ... (docs/results.md)")

    def metrics(self) -> list[str]:
        """Columns needed to judge a point."""
        needed = [self.metric]
        for constraint in self.constraints:
            metric = getattr(constraint, "metric", None)
            if metric and metric not in needed:
                needed.append(metric)
        return needed

    def compliant(self, rows: dict[str, np.ndarray]) -> bool:
        return all(constraint.ok(rows) for constraint in self.constraints)

    def describe(self) -> dict:
        return {"metric": self.metric,
                "constraints": [constraint.describe() for constraint in self.constraints]}


def finite_mean(values: Sequence[float]) -> float:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan
