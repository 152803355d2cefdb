"""Comparisons between strategies: per-metric intervals, paired differences, a verdict.

Strategies of one replication share common random numbers (see :mod:`sim.model.streams`),
so the difference ``strategy - baseline`` within a replication is one observation
and replications are independent: the paired Student-t interval of those
differences is the honest interval, and it is much narrower than one computed as
if the runs were independent (kept beside it as ``diff_unpaired_half_width``, so
anyone can see what the pairing bought).

Everything here works from a summary table (``summary.parquet`` or
``RunResult.summary_table()``), so a results folder on disk and a run in memory
give the same comparison.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sim.errors import UserError
from sim.analysis.constraints import Compliance, describe_caps, violations
from sim.analysis.economics import ECONOMICS_COLUMNS
from sim.analysis.formatting import low_to_high
from sim.analysis.metrics import METRIC_NAMES, METRICS
from sim.analysis.observables import OBSERVABLE_NAMES, OBSERVABLES
from sim.analysis.stats import Interval, paired_difference, t_interval, unpaired_difference

HEADLINE = "connects_per_rep_hour"
CONFIDENCE = 0.95
COMPARISON_FILE = "comparison.parquet"

_UNITS = {name: unit for name, _type, unit, _desc in METRICS + ECONOMICS_COLUMNS}
_UNITS.update({name: unit for name, unit, *_rest in OBSERVABLES})  # derived rates (observables.py)

# name, arrow type, description (docs/results.md "comparison.parquet" is checked against this)
COMPARISON_COLUMNS: tuple[tuple[str, pa.DataType, str], ...] = (
    ("strategy", pa.string(), "strategy name, as in the scenario"),
    ("metric", pa.string(), "metric name, as a column of summary.parquet (or economics.parquet)"),
    ("unit", pa.string(), "the metric's unit (1/h, count, h, ratio, dials, min, currency)"),
    ("baseline", pa.string(), "the strategy differences are taken against"),
    ("is_baseline", pa.bool_(), "true on the baseline's own rows (difference identically 0)"),
    ("n", pa.int32(), "replications with a value (NaN values, e.g. mean_attempts_to_reach with no one reached, are left out)"),
    ("mean", pa.float64(), "mean over replications"),
    ("sd", pa.float64(), "standard deviation over replications (ddof=1); NaN if n < 2"),
    ("ci95_low", pa.float64(), "95% Student-t confidence interval for the mean: low end"),
    ("ci95_high", pa.float64(), "... high end"),
    ("half_width", pa.float64(), "half-width of that interval (inf if n = 1)"),
    ("relative_half_width", pa.float64(), "half_width / |mean| (what --precision controls for connects_per_rep_hour)"),
    ("diff_mean", pa.float64(), "mean paired difference strategy - baseline (same replication, same random numbers)"),
    ("diff_sd", pa.float64(), "standard deviation of the per-replication differences"),
    ("diff_ci95_low", pa.float64(), "95% Student-t interval of the paired difference: low end"),
    ("diff_ci95_high", pa.float64(), "... high end"),
    ("diff_half_width", pa.float64(), "half-width of the paired interval"),
    ("diff_excludes_zero", pa.bool_(), "true if the paired interval lies entirely above or below 0: the strategies differ on this metric"),
    ("diff_unpaired_half_width", pa.float64(), "half-width a Welch interval would have if the runs were independent (for contrast only; NaN on the baseline's rows)"),
)

COMPARISON_SCHEMA = pa.schema(
    [pa.field(name, dtype, metadata={"description": desc}) for name, dtype, desc in COMPARISON_COLUMNS]
)


def resolve_baseline(strategies: Sequence[str], requested: str | None = None,
                     scenario_baseline: str | None = None) -> str:
    """The baseline of a comparison among ``strategies``.

    ``requested`` (``--baseline``) must be one of them, else a UserError listing
    them. Otherwise the scenario's ``experiment.baseline`` if it was run, else the
    first strategy.
    """
    if not strategies:
        raise UserError("no strategies to compare")
    if requested is not None:
        if requested not in strategies:
            raise UserError(
                f"--baseline {requested!r}: not a strategy of this run; choose from: "
                f"{', '.join(strategies)}"
            )
        return requested
    if scenario_baseline in strategies:
        return scenario_baseline
    return strategies[0]


def values_by_strategy(summary: pa.Table, metric: str,
                       strategies: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """``metric`` per strategy as float arrays in replication order (pairing is by index)."""
    rows = _rows_by_strategy(summary, strategies)
    values = summary.column(metric).to_numpy(zero_copy_only=False).astype(float)
    return {name: values[index] for name, index in rows.items()}


def _rows_by_strategy(summary: pa.Table, strategies: Sequence[str] | None) -> dict[str, np.ndarray]:
    """Row indices of each strategy, sorted by replication.

    Every strategy must have the same replications, else the pairing would be wrong.
    """
    strategy = np.asarray(summary.column("strategy").to_pylist(), dtype=object)
    replication = summary.column("replication").to_numpy(zero_copy_only=False)
    names = list(dict.fromkeys(strategy.tolist())) if strategies is None else list(strategies)
    out, reference = {}, None
    for name in names:
        index = np.flatnonzero(strategy == name)
        index = index[np.argsort(replication[index], kind="stable")]
        if reference is None:
            reference = replication[index]
        elif not np.array_equal(replication[index], reference):
            raise ValueError(f"strategy {name!r} has different replications from the others")
        out[name] = index
    return out


def comparison_table(summary: pa.Table, strategies: Sequence[str], baseline: str,
                     metrics: Iterable[str] | None = None,
                     confidence: float = CONFIDENCE) -> pa.Table:
    """Per strategy x metric: mean, sd, t interval, paired difference from ``baseline``.

    By default every metric, then every observable rate the summary carries.
    """
    if metrics is None:
        metrics = METRIC_NAMES + tuple(n for n in OBSERVABLE_NAMES if n in summary.column_names)
    if baseline not in strategies:
        raise ValueError(f"baseline {baseline!r} is not among {list(strategies)}")
    rows = []
    index = _rows_by_strategy(summary, strategies)
    for metric in metrics:
        column = summary.column(metric).to_numpy(zero_copy_only=False).astype(float)
        values = {name: column[index[name]] for name in strategies}
        base = values[baseline]
        for name in strategies:
            own = t_interval(values[name], confidence)
            diff = paired_difference(values[name], base, confidence)
            rows.append({
                "strategy": name, "metric": metric, "unit": _UNITS.get(metric, ""),
                "baseline": baseline, "is_baseline": name == baseline, "n": own.n,
                "mean": own.mean, "sd": own.sd, "ci95_low": own.low, "ci95_high": own.high,
                "half_width": own.half_width, "relative_half_width": own.relative_half_width,
                "diff_mean": diff.mean, "diff_sd": diff.sd, "diff_ci95_low": diff.low,
                "diff_ci95_high": diff.high, "diff_half_width": diff.half_width,
                "diff_excludes_zero": diff.excludes_zero(),
                "diff_unpaired_half_width": (math.nan if name == baseline else
                                             unpaired_half_width(values[name], base, confidence)),
            })
    columns = {name: [row[name] for row in rows] for name in COMPARISON_SCHEMA.names}
    return pa.table(columns, schema=COMPARISON_SCHEMA)


def unpaired_half_width(values, baseline_values, confidence: float = CONFIDENCE) -> float:
    """Half-width of the Welch interval, ignoring the pairing (NaNs dropped per side)."""
    a = np.asarray(values, dtype=float)
    b = np.asarray(baseline_values, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return math.inf
    return unpaired_difference(a, b, confidence).half_width


def comparison_rows(table: pa.Table, metric: str) -> dict[str, dict]:
    """The rows of a comparison table for one metric, keyed by strategy."""
    return {row["strategy"]: row for row in table.to_pylist() if row["metric"] == metric}


@dataclass(frozen=True)
class Verdict:
    """Which strategy is best on ``metric``, or which ones the data cannot separate.

    ``leaders`` is the best strategy by mean plus every strategy whose paired
    difference from it has an interval containing 0; ``separated`` is true when
    that is the best alone. "X is best" is the k - 1 one-sided claims "X beats Y";
    with Bonferroni over them (a conservative form of Hsu's multiple comparison with
    the best) each two-sided interval is at ``1 - 2 (1 - confidence) / (k - 1)``,
    never below ``confidence`` itself: 95% for up to three strategies (so the
    verdict agrees with the table's 95% differences), 96.7% for four, 97.5% for five.
    """

    metric: str
    best: str | None
    leaders: tuple[str, ...]
    means: dict[str, float]
    gaps: dict[str, Interval]  # other strategy -> interval of (best - other), Bonferroni level
    confidence: float
    pairwise_confidence: float
    n: int
    # strategies that break a [constraints] cap (left out of the race), with their checks
    breaking: dict[str, Compliance] = field(default_factory=dict)
    caps: str = ""  # the caps in words; "" when the scenario sets none

    def level(self) -> str:
        """The pairwise confidence as text: '95%', '96.7%'."""
        return f"{self.pairwise_confidence:.1%}".replace(".0%", "%")

    def adjustment_note(self) -> str:
        """Why the verdict's interval level is above the table's, in one line ('' if it is not)."""
        if self.pairwise_confidence <= self.confidence or len(self.gaps) < 2:
            return ""
        return (f"({self.level()} intervals in the verdict: it compares the best with "
                f"{len(self.gaps)} strategies at once, so each interval is widened "
                f"(Bonferroni) for all {len(self.gaps)} to hold together at "
                f"{self.confidence:.0%})")

    @property
    def separated(self) -> bool:
        return self.best is not None and self.leaders == (self.best,)

    @property
    def none_comply(self) -> bool:
        """Caps are set and every strategy breaks one."""
        return self.best is None and bool(self.breaking)

    def breaking_sentence(self) -> str:
        """'breaks a cap: X (abandon rate ... over the 3.0% cap)', '' if none does."""
        if not self.breaking:
            return ""
        parts = []
        for name, compliance in self.breaking.items():
            worst = compliance.broken[0]
            parts.append(f"{name} ({worst.label} {worst.fmt(worst.interval.mean)}, up to "
                         f"{worst.fmt(worst.interval.high)}; cap {worst.fmt(worst.limit)})")
        verb = "breaks" if len(parts) == 1 else "break"
        return f"{', '.join(parts)} {verb} a cap"

    def sentence(self, unit_label: str = "connects per rep-hour") -> str:
        """One plain line for the CLI and the report."""
        if self.none_comply:
            return (f"no strategy complies with the constraints ({self.caps}): "
                    f"{self.breaking_sentence()}")
        if self.best is None:
            return "no strategies to compare"
        text = self._race_sentence(unit_label)
        if self.breaking:
            text = (text.replace("best: ", "best that complies: ", 1)
                    .replace("data cannot separate", "data cannot separate (among those that comply)", 1)
                    + "; " + self.breaking_sentence())
        return text

    def _race_sentence(self, unit_label: str) -> str:
        if len(self.means) == 1:
            if self.breaking:
                return (f"best: {self.best} ({self.means[self.best]:.2f} {unit_label}), the "
                        "only strategy within the constraints")
            return f"only one strategy was run ({self.best}): nothing to compare"
        if self.separated:
            closest = min(self.gaps, key=lambda name: self.gaps[name].mean)
            gap = self.gaps[closest]
            return (f"best: {self.best} ({self.means[self.best]:.2f} {unit_label}); it beats "
                    f"every other strategy, the closest ({closest}) by {fmt_number(gap.mean)} "
                    f"({self.level()} interval {low_to_high(gap.low, gap.high, fmt_number)})")
        close = ", ".join(self.leaders[1:])
        behind = [name for name in self.means if name not in self.leaders]
        tail = f"; {', '.join(behind)} clearly behind" if behind else ""
        return (f"the data cannot separate {self.best} ({self.means[self.best]:.2f} {unit_label}) "
                f"from {close} after {self.n} replications{tail}; more replications may "
                "(try --precision)")


def fmt_number(x: float) -> str:
    """Two decimals, or three significant digits for small values (0.0042, not 0.00)."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.2f}" if abs(x) >= 0.1 or x == 0 else f"{x:.2g}"


def verdict(values: dict[str, np.ndarray], metric: str = HEADLINE,
            confidence: float = CONFIDENCE,
            compliance: dict[str, Compliance] | None = None, caps: str = "") -> Verdict:
    """Best strategy by mean of ``values`` (higher is better), tested against each other one.

    With ``compliance`` (:func:`sim.analysis.constraints.violations`), a strategy that
    breaks a cap is out of the race: the best is the best that complies, compared only
    with the others that comply, and the ones that break a cap are listed in
    ``breaking``; if none complies there is no best.
    """
    breaking = {name: c for name, c in (compliance or {}).items()
                if name in values and not c.complies}
    values = {name: v for name, v in values.items() if name not in breaking}
    if not values:
        return Verdict(metric, None, (), {}, {}, confidence, confidence, 0, breaking, caps)
    means = {name: float(np.nanmean(v)) if np.isfinite(v).any() else math.nan
             for name, v in values.items()}
    best = max(means, key=lambda name: (-math.inf if math.isnan(means[name]) else means[name]))
    k = len(values)
    pairwise = max(confidence, 1 - 2 * (1 - confidence) / max(1, k - 1))
    gaps = {name: paired_difference(values[best], values[name], pairwise)
            for name in values if name != best}
    close = [name for name in values if name != best and not gaps[name].excludes_zero()]
    leaders = (best, *sorted(close, key=lambda name: -means[name]))
    n = min(int(np.isfinite(v).sum()) for v in values.values())
    return Verdict(metric, best, leaders, means, gaps, confidence, pairwise, n, breaking, caps)


def paired_differences(summary: pa.Table, strategies: Sequence[str], baseline: str,
                       metric: str = HEADLINE) -> dict[str, Interval]:
    """Paired interval of (strategy - baseline) on ``metric`` for every strategy."""
    values = values_by_strategy(summary, metric, strategies)
    return {name: paired_difference(values[name], values[baseline]) for name in strategies}


def headline_verdict(summary: pa.Table, strategies: Sequence[str]) -> Verdict:
    """The verdict on connects per rep-hour among ``strategies`` (no constraints)."""
    return verdict(values_by_strategy(summary, HEADLINE, strategies), HEADLINE)


def decide(summary: pa.Table, strategies: Sequence[str], scenario=None,
           timeline: pa.Table | None = None, metric: str = HEADLINE,
           constraints: Sequence = ()) -> Verdict:
    """THE verdict: best on ``metric`` among the strategies that hold ``scenario``'s caps.

    ``scenario`` (a Scenario or its resolved dict) brings the ``[constraints]``;
    ``timeline`` is needed for per-day and 30-day abandon windows (see
    :func:`sim.analysis.constraints.violations`). ``constraints`` adds caps given
    outside the scenario (``--max-abandon`` of map and optimise: objects with
    ``metric``, ``check(values) -> Check`` and ``describe()``, see
    :mod:`sim.analysis.objective`). Without any caps every strategy is in the race.
    """
    if metric not in summary.column_names:  # a derived metric: meetings, value (economics)
        from sim.analysis.economics import with_economics

        summary = with_economics(summary, scenario)
    values = values_by_strategy(summary, metric, strategies)
    caps = [describe_caps(scenario)] if scenario is not None and describe_caps(scenario) else []
    if not caps and not constraints:
        return verdict(values, metric)
    compliance = (violations(summary, scenario, timeline, strategies) if caps
                  else {name: Compliance(name, ()) for name in strategies})
    for constraint in constraints:
        capped = values_by_strategy(summary, constraint.metric, strategies)
        compliance = {name: Compliance(name, (*c.checks, constraint.check(capped[name])))
                      for name, c in compliance.items()}
        caps.append(constraint.describe())
    return verdict(values, metric, compliance=compliance, caps=", ".join(caps))
