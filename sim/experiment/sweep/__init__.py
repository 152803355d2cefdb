"""Sweeps: many what-if points over one base scenario, run anywhere, resumable.

One concern per module:

- :mod:`~sim.experiment.sweep.spec`: the sweep file's schema and loading it (``load_sweep``);
- :mod:`~sim.experiment.sweep.design`: parameters, points, point hashes and the fingerprint;
- :mod:`~sim.experiment.sweep.run`: the runner, its tasks, the lock and the manifest;
- :mod:`~sim.experiment.sweep.summary`: per-point summaries (the winner is
  :func:`sim.analysis.compare.decide`'s verdict) and reading a sweep folder.

This package re-exports their public names, so ``from sim.experiment.sweep import
run_sweep`` keeps working; private helpers are imported from their own module.
"""

from __future__ import annotations

from sim.experiment.sweep.spec import (
    FIXED_KEYS,
    STRATEGY_SETTINGS,
    SWEEP_SCHEMA_VERSION,
    RangeSpec,
    SampleSpec,
    SweepSpec,
    load_sweep,
)
from sim.experiment.sweep.design import (
    MAX_POINTS,
    POINT_HASH,
    POINT_ID,
    WINDOW_FIELDS,
    Parameter,
    Point,
    Sweep,
    format_value,
    point_hash,
)
from sim.experiment.sweep.run import (
    HASH_KEY,
    LOCK_FILE,
    PLOTS_DIR,
    SWEEP_CHART_PREFIXES,
    SweepOutcome,
    SweepProgress,
    SweepTask,
    SweepTaskResult,
    check_out_dir,
    points_table,
    replications_per_task,
    run_sweep,
    run_sweep_task,
)
from sim.experiment.sweep.summary import (
    DATA_DIR,
    HEADLINE,
    POINTS_FILE,
    SUMMARY_COLUMNS,
    SUMMARY_FILE,
    is_tie,
    point_path,
    read_sweep,
    summarise_point,
    summary_schema,
    summary_table,
    sweep_status,
)

__all__ = [
    "is_tie",
    "FIXED_KEYS",
    "STRATEGY_SETTINGS",
    "SWEEP_SCHEMA_VERSION",
    "RangeSpec",
    "SampleSpec",
    "SweepSpec",
    "load_sweep",
    "MAX_POINTS",
    "POINT_HASH",
    "POINT_ID",
    "WINDOW_FIELDS",
    "Parameter",
    "Point",
    "Sweep",
    "format_value",
    "point_hash",
    "HASH_KEY",
    "LOCK_FILE",
    "PLOTS_DIR",
    "SWEEP_CHART_PREFIXES",
    "SweepOutcome",
    "SweepProgress",
    "SweepTask",
    "SweepTaskResult",
    "check_out_dir",
    "points_table",
    "replications_per_task",
    "run_sweep",
    "run_sweep_task",
    "DATA_DIR",
    "HEADLINE",
    "POINTS_FILE",
    "SUMMARY_COLUMNS",
    "SUMMARY_FILE",
    "point_path",
    "read_sweep",
    "summarise_point",
    "summary_schema",
    "summary_table",
    "sweep_status",
]
