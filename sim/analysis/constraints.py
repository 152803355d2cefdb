"""Guardrails: does each strategy hold the scenario's ``[constraints]`` caps?

A cap is held *with confidence*, not on average: a strategy complies with a cap only
if the high end of the 95% Student-t interval (over replications) of the capped
quantity is at or under the cap. One replication gives an infinite interval, so
nothing can be shown to comply with one replication.

The capped quantities, one value per replication:

- ``max_abandon_rate``: (abandoned calls + AMD hang-ups) / (live answers + AMD
  hang-ups), as US regulators count it, over the window of ``abandon_window``:
  ``campaign`` (the summary's ``abandon_rate_with_amd``), ``per_day`` (the worst
  day of the replication, from ``timeline.parquet``; days without a live answer do
  not count) or ``rolling_30_days`` (the worst 30 consecutive campaign days; the
  whole campaign if it is shorter).
- ``max_opt_out_rate``: opt-outs per prospect dialled (``opt_outs /
  prospects_dialled``; 0 if nobody was dialled).
- ``max_numbers_labelled``: caller-ID numbers labelled spam at least once.

:func:`violations` is the one entry point (the verdict, the CLI table, the report,
the sweep summary and other tools use it); it works from a summary table and, for
the per-day and 30-day windows, the timeline or the window columns of
:data:`WINDOW_COLUMNS` (what sweeps keep per replication instead of a timeline).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sim.analysis.stats import Interval, t_interval
from sim.analysis.formatting import low_to_high

ROLLING_DAYS = 30
CONFIDENCE = 0.95

# name, arrow type, unit, description: per strategy x replication worst-window abandon
# rates (computed from the timeline; sweeps store them in their point files)
WINDOW_COLUMNS: tuple[tuple[str, pa.DataType, str, str], ...] = (
    ("abandon_rate_with_amd_worst_day", pa.float64(), "ratio",
     "the replication's worst day of (abandoned + AMD hang-ups) / (live answers + AMD hang-ups); "
     "days with no live answer left out; 0 if none had one"),
    ("abandon_rate_with_amd_worst_30_days", pa.float64(), "ratio",
     "the same rate over the worst 30 consecutive campaign days (the whole campaign if shorter)"),
)
WINDOW_COLUMN = {"per_day": "abandon_rate_with_amd_worst_day",
                 "rolling_30_days": "abandon_rate_with_amd_worst_30_days",
                 "campaign": "abandon_rate_with_amd"}
WINDOW_WORDS = {"per_day": "worst day", "rolling_30_days": "worst 30 days",
                "campaign": "campaign"}


@dataclass(frozen=True)
class Check:
    """One cap applied to one strategy."""

    cap: str  # the [constraints] key, e.g. "max_abandon_rate"
    label: str  # what is capped, in words: "abandon rate (worst day)"
    limit: float
    interval: Interval  # of the capped quantity over replications
    percent: bool  # a rate (shown as %) rather than a count

    @property
    def complies(self) -> bool:
        """The high end of the 95% interval is at or under the cap."""
        return self.interval.n > 0 and math.isfinite(self.interval.high) \
            and self.interval.high <= self.limit

    @property
    def clearly_over(self) -> bool:
        """Even the low end of the interval is over the cap (not just 'may exceed')."""
        return self.interval.n > 0 and self.interval.low > self.limit

    def fmt(self, x: float) -> str:
        if not math.isfinite(x):
            return str(x)
        if self.percent:
            return f"{x:.2%}" if abs(x) < 0.01 else f"{x:.1%}"
        return f"{x:.2g}" if abs(x) < 10 else f"{x:,.0f}"

    def interval_text(self) -> str:
        """'7.2% (95% interval 6.5% to 7.9%)'."""
        iv = self.interval
        if iv.n == 0:
            return "no data"
        if not math.isfinite(iv.half_width):
            return f"{self.fmt(iv.mean)} (one replication: no interval)"
        return f"{self.fmt(iv.mean)} (95% interval {low_to_high(iv.low, iv.high, self.fmt)})"

    def describe(self) -> str:
        """'abandon rate (worst day) 7.2% (95% interval 6.5% to 7.9%), over the 3.0% cap'."""
        if self.complies:
            relation = "within"
        elif self.clearly_over:
            relation = "over"
        else:
            relation = "may exceed"
        return f"{self.label} {self.interval_text()}, {relation} the {self.fmt(self.limit)} cap"


@dataclass(frozen=True)
class Compliance:
    """Every cap applied to one strategy."""

    strategy: str
    checks: tuple[Check, ...]

    @property
    def complies(self) -> bool:
        return all(check.complies for check in self.checks)

    @property
    def broken(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.complies)

    def describe(self) -> str:
        """The caps it breaks, '; '-separated (empty if it complies)."""
        return "; ".join(check.describe() for check in self.broken)


def abandon_windows(timeline: pa.Table) -> dict[tuple[str, int], dict[str, float]]:
    """(strategy, replication) -> the :data:`WINDOW_COLUMNS` values, from a timeline.

    ``timeline`` has one row per strategy x replication x day x hour with
    ``abandoned_calls``, ``amd_hangups`` and ``live_answers`` (timeline.parquet).
    """
    strategy = np.asarray(timeline.column("strategy").to_pylist(), dtype=object)
    replication = timeline.column("replication").to_numpy(zero_copy_only=False)
    day = timeline.column("day").to_numpy(zero_copy_only=False)
    lost = (timeline.column("abandoned_calls").to_numpy(zero_copy_only=False)
            + timeline.column("amd_hangups").to_numpy(zero_copy_only=False)).astype(float)
    answered = (timeline.column("live_answers").to_numpy(zero_copy_only=False)
                + timeline.column("amd_hangups").to_numpy(zero_copy_only=False)).astype(float)
    out: dict[tuple[str, int], dict[str, float]] = {}
    for key in dict.fromkeys(zip(strategy.tolist(), replication.tolist())):
        rows = (strategy == key[0]) & (replication == key[1])
        days = int(day[rows].max()) + 1 if rows.any() else 0
        lost_by_day = np.bincount(day[rows], weights=lost[rows], minlength=days)
        answered_by_day = np.bincount(day[rows], weights=answered[rows], minlength=days)
        out[key] = {
            "abandon_rate_with_amd_worst_day": _worst_window(lost_by_day, answered_by_day, 1),
            "abandon_rate_with_amd_worst_30_days": _worst_window(
                lost_by_day, answered_by_day, min(ROLLING_DAYS, max(days, 1))),
        }
    return out


def _worst_window(lost: np.ndarray, answered: np.ndarray, width: int) -> float:
    """Highest lost / answered over every run of ``width`` consecutive days (0 if none answered)."""
    if lost.size == 0:
        return 0.0
    kernel = np.ones(width)
    lost_w = np.convolve(lost, kernel, mode="valid")
    answered_w = np.convolve(answered, kernel, mode="valid")
    has = answered_w > 0
    return float((lost_w[has] / answered_w[has]).max()) if has.any() else 0.0


def with_window_columns(summary: pa.Table, timeline: pa.Table) -> pa.Table:
    """``summary`` plus the :data:`WINDOW_COLUMNS`, computed from ``timeline``."""
    windows = abandon_windows(timeline)
    keys = list(zip(summary.column("strategy").to_pylist(),
                    summary.column("replication").to_pylist()))
    for name, dtype, unit, description in WINDOW_COLUMNS:
        if name in summary.column_names:
            continue
        values = [windows.get(key, {}).get(name, math.nan) for key in keys]
        summary = summary.append_column(
            pa.field(name, dtype, metadata={"unit": unit, "description": description}),
            pa.array(values, dtype))
    return summary


def _constraints(scenario_or_constraints):
    """The Constraints section of a Scenario, a resolved scenario dict, or the section itself."""
    from sim.scenario.schema import Constraints

    if isinstance(scenario_or_constraints, Constraints):
        return scenario_or_constraints
    if isinstance(scenario_or_constraints, Mapping):
        section = scenario_or_constraints.get("constraints", scenario_or_constraints)
        return Constraints.model_validate(section or {})
    return scenario_or_constraints.constraints


def _by_strategy(summary: pa.Table, column: np.ndarray,
                 strategies: Sequence[str]) -> dict[str, np.ndarray]:
    names = np.asarray(summary.column("strategy").to_pylist(), dtype=object)
    return {name: column[names == name] for name in strategies}


def _column(summary: pa.Table, name: str) -> np.ndarray:
    return summary.column(name).to_numpy(zero_copy_only=False).astype(float)


def violations(summary, scenario, timeline: pa.Table | None = None,
               strategies: Sequence[str] | None = None) -> dict[str, Compliance]:
    """Per strategy, every cap of ``scenario``'s ``[constraints]`` and whether it holds.

    ``summary``: summary.parquet rows as a table or a list of dicts (or a sweep
    point's rows); ``scenario``: a
    Scenario, its resolved dict or the Constraints section; ``timeline``: needed
    for the ``per_day`` and ``rolling_30_days`` abandon windows unless ``summary``
    already has the :data:`WINDOW_COLUMNS`. With no caps set every strategy
    complies (no checks).
    """
    if not isinstance(summary, pa.Table):  # summary rows as dicts (e.g. a sweep point's)
        summary = pa.Table.from_pylist(list(summary))
    caps = _constraints(scenario)
    if strategies is None:
        strategies = list(dict.fromkeys(summary.column("strategy").to_pylist()))
    checks: dict[str, list[Check]] = {name: [] for name in strategies}

    def add(cap, label, limit, values, percent):
        for name in strategies:
            checks[name].append(Check(cap, label, float(limit), t_interval(values[name]), percent))

    if caps.max_abandon_rate is not None:
        column = WINDOW_COLUMN[caps.abandon_window]
        if column not in summary.column_names:
            if timeline is None:
                raise ValueError(f"the {caps.abandon_window} abandon cap needs the timeline "
                                 f"or a {column} column")
            summary = with_window_columns(summary, timeline)
        label = f"abandon rate with AMD ({WINDOW_WORDS[caps.abandon_window]})"
        add("max_abandon_rate", label, caps.max_abandon_rate,
            _by_strategy(summary, _column(summary, column), strategies), True)
    if caps.max_opt_out_rate is not None:
        dialled = _column(summary, "prospects_dialled")
        opt_outs = _column(summary, "opt_outs")
        rate = np.divide(opt_outs, dialled, out=np.zeros_like(opt_outs), where=dialled > 0)
        add("max_opt_out_rate", "opt-outs per prospect dialled", caps.max_opt_out_rate,
            _by_strategy(summary, rate, strategies), True)
    if caps.max_numbers_labelled is not None:
        add("max_numbers_labelled", "numbers labelled spam", caps.max_numbers_labelled,
            _by_strategy(summary, _column(summary, "numbers_labelled"), strategies), False)
    return {name: Compliance(name, tuple(checks[name])) for name in strategies}


def describe_caps(scenario) -> str:
    """The caps in words ('abandon rate with AMD <= 3.0% on every day, ...'), '' if none."""
    caps = _constraints(scenario)
    window = {"campaign": "over the campaign", "per_day": "on every day",
              "rolling_30_days": "over every 30 days"}[caps.abandon_window]
    parts = []
    if caps.max_abandon_rate is not None:
        parts.append(f"abandon rate with AMD hang-ups at most {caps.max_abandon_rate:.1%} {window}")
    if caps.max_opt_out_rate is not None:
        parts.append(f"opt-outs at most {caps.max_opt_out_rate:.1%} of prospects dialled")
    if caps.max_numbers_labelled is not None:
        parts.append(f"at most {caps.max_numbers_labelled} caller-ID numbers labelled spam")
    return ", ".join(parts)
