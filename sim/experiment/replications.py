"""Experiments: replications of every strategy over one scenario, and their statistics.

A task is one replication: it draws the replication's world once (named streams,
see :mod:`sim.model.streams`) and runs every requested strategy on that same world, so
strategies are compared on common random numbers. Tasks are independent and carry
everything they need (plain data), so any executor gives identical results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from sim.experiment.executors import Executor, SerialExecutor
from sim.analysis.constraints import abandon_windows
from sim.analysis.metrics import BREAKDOWN_SCHEMA, NUMBERS_SCHEMA, SUMMARY_SCHEMA, TIMELINE_SCHEMA
from sim.experiment import progress
from sim.experiment.engine import select as select_engine
from sim.model.campaign import Campaign
from sim.store.results import CallLogWriter
from sim.scenario.schema import Scenario
from sim.analysis.stats import Interval, t_interval
from sim.model.strategies import voicemail_plan
from sim.model.streams import build_world


@dataclass(frozen=True)
class ReplicationTask:
    """Everything a worker needs for one replication (picklable, plain data)."""

    scenario: dict  # Scenario.resolved()
    seed: int
    replication: int
    strategies: tuple[str, ...]
    calls_dir: str | None = None  # write the per-call log part here when set


@dataclass
class ReplicationResult:
    replication: int
    rows: list[dict]  # one per strategy: key columns + metrics
    timeline: dict  # column -> list
    calls_parts: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    numbers: dict | None = None  # per caller-ID number and day (column -> list), if modelled
    breakdown: dict | None = None  # per segment and time zone (column -> list)


def run_replication(task: ReplicationTask) -> ReplicationResult:
    """Run every strategy of ``task`` on one shared world. Deterministic in the task."""
    started = time.perf_counter()
    scenario = Scenario.model_validate(task.scenario)
    world = build_world(scenario, task.seed, task.replication)
    kernel = select_engine(warn=False).module  # runs and sweeps warn once, up front
    rows, parts = [], []
    timeline = {name: [] for name in TIMELINE_SCHEMA.names}
    numbers = {name: [] for name in NUMBERS_SCHEMA.names} if scenario.caller_id.enabled else None
    breakdown = {name: [] for name in BREAKDOWN_SCHEMA.names}
    for index, name in enumerate(task.strategies):
        def on_day(days_done: int, index: int = index) -> None:
            progress.report(task.replication,
                            (index + days_done / scenario.calendar.days) / len(task.strategies))

        plan = voicemail_plan(scenario, name)
        log = None
        if task.calls_dir is not None:
            path = Path(task.calls_dir) / f"calls-r{task.replication:05d}-{len(parts):03d}.parquet"
            log = CallLogWriter(path, name, task.replication)
            parts.append(str(path))
        campaign = Campaign(scenario, world, plan, kernel=kernel, call_log=log, on_day=on_day)
        metrics = campaign.run()
        if log is not None:
            log.close()
        rows.append({"strategy": name, "replication": task.replication, "seed": task.seed, **metrics})
        hourly = campaign.timeline()
        n_hours = len(hourly["dials"])
        timeline["strategy"] += [name] * n_hours
        timeline["replication"] += [task.replication] * n_hours
        timeline["day"] += [h // 24 for h in range(n_hours)]
        timeline["hour"] += [h % 24 for h in range(n_hours)]
        for column, values in hourly.items():
            timeline[column] += values
        groups = campaign.breakdown()
        n_groups = len(groups["group"])
        breakdown["strategy"] += [name] * n_groups
        breakdown["replication"] += [task.replication] * n_groups
        for column, values in groups.items():
            breakdown[column] += values
        per_number = campaign.numbers_timeline()
        if per_number is not None:
            n_rows = len(per_number["day"])
            numbers["strategy"] += [name] * n_rows
            numbers["replication"] += [task.replication] * n_rows
            for column, values in per_number.items():
                numbers[column] += values
    return ReplicationResult(task.replication, rows, timeline, parts,
                             time.perf_counter() - started, numbers, breakdown)


@dataclass(frozen=True)
class ReplicationBatch:
    """Several replications of one scenario as one task (fewer, larger tasks for sweeps)."""

    scenario: dict  # Scenario.resolved()
    seed: int
    replications: tuple[int, ...]
    strategies: tuple[str, ...]


def run_replications(batch: ReplicationBatch) -> list[dict]:
    """Summary rows (one per strategy x replication) plus the worst-window abandon rates
    (:data:`sim.analysis.constraints.WINDOW_COLUMNS`): no timeline, no call log."""
    rows: list[dict] = []
    for replication in batch.replications:
        task = ReplicationTask(batch.scenario, batch.seed, replication, batch.strategies)
        result = run_replication(task)
        # worst-day / worst-30-day abandon rates: what the caps need from the timeline
        windows = abandon_windows(pa.table(result.timeline))
        rows += [{**row, **windows.get((row["strategy"], row["replication"]), {})}
                 for row in result.rows]
    return rows


@dataclass
class RunResult:
    """All replications of a run, ordered by (replication, strategy order)."""

    scenario: Scenario
    seed: int
    strategies: tuple[str, ...]
    replications: list[ReplicationResult]
    wall_s: float
    baseline: str | None = None  # set by execute_run (sim.analysis.compare.resolve_baseline)
    precision: object | None = None  # sim.experiment.precision.PrecisionOutcome of a --precision run

    def summary_table(self) -> pa.Table:
        rows = [row for rep in self.replications for row in rep.rows]
        columns = {name: [row[name] for row in rows] for name in SUMMARY_SCHEMA.names}
        return pa.table(columns, schema=SUMMARY_SCHEMA)

    def timeline_table(self) -> pa.Table:
        columns = {name: [] for name in TIMELINE_SCHEMA.names}
        for rep in self.replications:
            for name in columns:
                columns[name] += rep.timeline[name]
        return pa.table(columns, schema=TIMELINE_SCHEMA)

    def breakdown_table(self) -> pa.Table:
        """Counts per list segment and per prospect time zone, per strategy x replication."""
        columns = {name: [] for name in BREAKDOWN_SCHEMA.names}
        for rep in self.replications:
            for name in columns:
                columns[name] += (rep.breakdown or {}).get(name, [])
        return pa.table(columns, schema=BREAKDOWN_SCHEMA)

    def numbers_table(self) -> pa.Table | None:
        """Per caller-ID number and day, or None when the scenario has no numbers."""
        if not self.replications or self.replications[0].numbers is None:
            return None
        columns = {name: [] for name in NUMBERS_SCHEMA.names}
        for rep in self.replications:
            for name in columns:
                columns[name] += rep.numbers[name]
        return pa.table(columns, schema=NUMBERS_SCHEMA)

    def values(self, strategy: str, metric: str) -> list[float]:
        """One value per replication, in replication order."""
        return [row[metric] for rep in self.replications for row in rep.rows
                if row["strategy"] == strategy]

    def interval(self, strategy: str, metric: str) -> Interval:
        return t_interval(self.values(strategy, metric))

    def calls_parts(self) -> list[str]:
        return [part for rep in self.replications for part in rep.calls_parts]


def select_strategies(scenario: Scenario, names: Iterable[str] | None) -> tuple[str, ...]:
    """The requested subset in scenario order; unknown names are a UserError."""
    from sim.errors import UserError

    available = scenario.strategy_names()
    if not names:
        return tuple(available)
    names = list(dict.fromkeys(names))
    unknown = [n for n in names if n not in available]
    if unknown:
        raise UserError(
            f"--strategy {unknown[0]!r}: not in the scenario; choose from: {', '.join(available)}"
        )
    return tuple(n for n in available if n in names)


def make_tasks(scenario: Scenario, seed: int, replications: Iterable[int],
               strategies: tuple[str, ...], calls_dir: Path | None = None) -> list[ReplicationTask]:
    resolved = scenario.resolved()
    return [ReplicationTask(resolved, seed, r, strategies, str(calls_dir) if calls_dir else None)
            for r in replications]


def run_experiment(
    scenario: Scenario,
    *,
    seed: int,
    replications: int | range,
    strategies: tuple[str, ...],
    executor: Executor | None = None,
    calls_dir: Path | None = None,
    on_done: Callable[[ReplicationResult], None] | None = None,
    on_progress: progress.Sink | None = None,
) -> RunResult:
    """Run ``replications`` replications of ``strategies``; order-independent results.

    ``replications`` is a count (indices 0..N-1) or a range of indices, so a run can
    be extended later (``--precision``) with exactly the replications a longer plain
    run would have had.
    """
    started = time.perf_counter()
    executor = executor or SerialExecutor()
    indices = range(replications) if isinstance(replications, int) else replications
    tasks = make_tasks(scenario, seed, indices, strategies, calls_dir)
    done: list[ReplicationResult] = []
    for _task, result in executor.map_unordered(run_replication, tasks, on_progress=on_progress):
        done.append(result)
        if on_done is not None:
            on_done(result)
    done.sort(key=lambda result: result.replication)
    return RunResult(scenario, seed, strategies, done, time.perf_counter() - started)


def headline_metrics() -> tuple[str, ...]:
    """Metrics the CLI table shows, in order."""
    return (
        "connects_per_rep_hour", "outbound_connects_per_rep_hour", "dials_per_rep_hour",
        "voicemails_left", "callbacks_received", "callbacks_missed", "abandon_rate", "opt_outs",
    )

