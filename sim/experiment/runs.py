"""A run, start to finish: experiment -> results folder (summary, timeline, calls, manifest).

The CLI's ``dialsim run`` is a thin wrapper over :func:`execute_run`.
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from pathlib import Path

from sim.analysis.compare import COMPARISON_FILE, comparison_table, resolve_baseline
from sim.analysis.economics import ECONOMICS_FILE, ECONOMICS_NAMES, economics_table, with_economics
from sim.analysis.metrics import METRIC_NAMES
from sim.experiment.engine import select as select_engine
from sim.experiment.executors import default_workers, local_executor
from sim.experiment.preflight import check_memory, memory_estimate
from sim.experiment.replications import ReplicationResult, RunResult, run_experiment
from sim.analysis.metrics import CALLS_SCHEMA
from sim.analysis.observables import OBSERVABLE_NAMES, add_observable_rates
from sim.store.results import (
    MANIFEST,
    RESULTS_SCHEMA_VERSION,
    command_line,
    environment_versions,
    merge_parquet_parts,
    staged_directory,
    write_json_atomic,
    write_parquet_atomic,
)
from sim.scenario.schema import Scenario

from sim.store.results import (BREAKDOWN_FILE, CALLS_FILE, NUMBERS_FILE,  # noqa: F401 (re-exported)
                               SUMMARY_FILE, TIMELINE_FILE)


def default_out_dir(scenario: Scenario, results_root: Path = Path("results")) -> Path:
    return results_root / _safe_name(scenario.name)


def _safe_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("._")
    return cleaned or "run"


def execute_run(
    scenario: Scenario,
    *,
    out_dir: Path,
    seed: int,
    replications: int,
    strategies: tuple[str, ...],
    workers: int | None = None,
    calls: bool = False,
    source: str | None = None,
    on_done: Callable[[ReplicationResult], None] | None = None,
    baseline: str | None = None,
    precision: float | None = None,
    max_replications: int | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_progress: Callable[[int, float], None] | None = None,
    on_replace: Callable[[Path], None] | None = None,
    objective: str = "connects",
) -> RunResult:
    """Run the experiment and write its results folder atomically. Returns the results.

    With ``precision`` (see :mod:`sim.experiment.precision`), ``replications`` is the first
    round and rounds are added until the headline is that precise or
    ``max_replications`` is reached; ``result.precision`` says how it ended.

    ``out_dir`` must be new, empty or an earlier dialsim run (checked before anything
    runs; anything else is a UserError); ``on_replace(out_dir)`` is called when an
    earlier run was replaced.
    """
    baseline = resolve_baseline(strategies, baseline, scenario.experiment.baseline)
    select_engine()  # a bad DIALSIM_ENGINE fails here, before anything is written
    from sim.experiment.precision import DEFAULT_MAX_REPLICATIONS

    planned = replications if precision is None else max(
        replications, max_replications or DEFAULT_MAX_REPLICATIONS)
    workers = min(default_workers() if workers is None else workers, planned)
    check_memory(memory_estimate(scenario, replications=planned, strategies=len(strategies),
                                 workers=workers), source or scenario.name)
    started_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    with staged_directory(Path(out_dir), on_replace=on_replace) as stage:
        parts_dir = None
        if calls:
            parts_dir = stage / "_calls_parts"
            parts_dir.mkdir()
        with local_executor(workers) as executor:
            if precision is None:
                result = run_experiment(
                    scenario, seed=seed, replications=replications, strategies=strategies,
                    executor=executor, calls_dir=parts_dir, on_done=on_done,
                    on_progress=on_progress,
                )
            else:
                from sim.experiment.precision import run_to_precision

                result, outcome = run_to_precision(
                    scenario, seed=seed, first_round=replications, target=precision,
                    max_replications=max_replications or DEFAULT_MAX_REPLICATIONS,
                    strategies=strategies, executor=executor, calls_dir=parts_dir,
                    on_done=on_done, on_plan=on_plan, on_progress=on_progress,
                )
                result.precision = outcome
                replications = len(result.replications)
        result.baseline = baseline
        write_started = time.perf_counter()
        files = {}
        summary = add_observable_rates(result.summary_table())
        write_parquet_atomic(summary, stage / SUMMARY_FILE)
        files[SUMMARY_FILE] = summary.num_rows
        timeline = result.timeline_table()
        write_parquet_atomic(timeline, stage / TIMELINE_FILE)
        files[TIMELINE_FILE] = timeline.num_rows
        breakdown = result.breakdown_table()
        write_parquet_atomic(breakdown, stage / BREAKDOWN_FILE)
        files[BREAKDOWN_FILE] = breakdown.num_rows
        numbers = result.numbers_table()
        if numbers is not None:
            write_parquet_atomic(numbers, stage / NUMBERS_FILE)
            files[NUMBERS_FILE] = numbers.num_rows
        metrics = METRIC_NAMES + OBSERVABLE_NAMES  # the rates a dashboard shows, too
        if scenario.economics is not None:
            economics = economics_table(summary, scenario, breakdown)
            write_parquet_atomic(economics, stage / ECONOMICS_FILE)
            files[ECONOMICS_FILE] = economics.num_rows
            metrics = metrics + ECONOMICS_NAMES
        comparison = comparison_table(with_economics(summary, scenario, breakdown), strategies, baseline,
                                      metrics)
        write_parquet_atomic(comparison, stage / COMPARISON_FILE)
        files[COMPARISON_FILE] = comparison.num_rows
        if calls:
            files[CALLS_FILE] = merge_parquet_parts(
                [Path(p) for p in result.calls_parts()], stage / CALLS_FILE, CALLS_SCHEMA
            )
            for part in parts_dir.iterdir():
                part.unlink()
            parts_dir.rmdir()
        manifest = {
            "results_schema_version": RESULTS_SCHEMA_VERSION,
            "kind": "run",
            "scenario_name": scenario.name,
            "scenario_source": source,
            "scenario": scenario.resolved(),
            "seed": seed,
            "replications": replications,
            "strategies": list(strategies),
            "baseline": baseline,
            "objective": objective,
            "versions": environment_versions(select_engine(warn=False).name),
            "command": command_line(),
            "started_at": started_at,
            "timings_s": {
                "simulate": round(result.wall_s, 3),
                "write": round(time.perf_counter() - write_started, 3),
                "per_replication": [round(r.wall_s, 3) for r in result.replications],
            },
            "workers": workers,
            "precision": result.precision.to_manifest() if result.precision else None,
            "files": files,
        }
        write_json_atomic(manifest, stage / MANIFEST)
    return result
