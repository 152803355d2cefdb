"""Per-point summaries (sweep_summary.parquet) and reading a sweep results folder.

A point's winner is the verdict of :func:`sim.analysis.compare.decide`, the one
``dialsim run`` and the report give.
"""

from __future__ import annotations

import math
import socket
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import UserError
from sim.analysis.compare import decide
from sim.store.results import MANIFEST, pid_alive, read_manifest
from sim.analysis.stats import paired_difference, t_interval
from sim.experiment.sweep.design import POINT_ID, Parameter, Sweep

DATA_DIR = "data"
POINTS_FILE = "points.parquet"
SUMMARY_FILE = "sweep_summary.parquet"
HEADLINE = "connects_per_rep_hour"

# name, type, unit, description: the per point x strategy columns of sweep_summary.parquet
SUMMARY_COLUMNS: tuple[tuple[str, pa.DataType, str, str], ...] = (
    ("strategy", pa.string(), "", "voicemail strategy"),
    ("replications", pa.int32(), "", "replications behind the numbers"),
    ("connects_per_rep_hour_mean", pa.float64(), "1/h", "mean over replications"),
    ("connects_per_rep_hour_ci95_low", pa.float64(), "1/h", "Student-t 95% interval; NaN with one replication"),
    ("connects_per_rep_hour_ci95_high", pa.float64(), "1/h", ""),
    ("outbound_connects_per_rep_hour_mean", pa.float64(), "1/h", "outbound connects only"),
    ("abandon_rate_with_amd_mean", pa.float64(), "ratio", "(abandoned + AMD hang-ups) / (live answers + AMD hang-ups) over the campaign, as regulators count; mean"),
    ("abandon_rate_with_amd_ci95_high", pa.float64(), "ratio", "high end of its 95% interval"),
    ("complies", pa.bool_(), "", "holds every [constraints] cap by the high end of the 95% interval (true when the scenario sets none)"),
    ("broken_caps", pa.string(), "", "the caps it breaks, with the capped rate's mean and 95% interval; null if it complies"),
    ("rank", pa.int16(), "", "1 = most connects per rep-hour among the strategies that comply; those that break a cap rank after them"),
    ("is_winner", pa.bool_(), "", "rank 1 and complies"),
    ("winner", pa.string(), "", "the point's best strategy that complies; null if none complies"),
    ("runner_up", pa.string(), "", "the next strategy that complies; null if there is none"),
    ("margin_mean", pa.float64(), "1/h", "winner minus runner-up, paired by replication"),
    ("margin_ci95_low", pa.float64(), "1/h", "95% interval of the paired difference"),
    ("margin_ci95_high", pa.float64(), "1/h", ""),
    ("margin_clear", pa.bool_(), "", "the point's verdict (as dialsim run gives it) separates the winner from every other strategy that complies"),
)


def point_path(out_dir: Path, point_id: int) -> Path:
    return Path(out_dir) / DATA_DIR / f"point-{point_id:06d}.parquet"


def summary_schema(parameters: list[Parameter]) -> pa.Schema:
    """Schema of sweep_summary.parquet: point id, swept values, SUMMARY_COLUMNS."""
    fields = [pa.field(name, dtype, metadata={"unit": unit, "description": description})
              for name, dtype, unit, description in SUMMARY_COLUMNS]
    return pa.schema([POINT_ID, *[p.field() for p in parameters], *fields])


def _finite(x: float) -> float:
    return x if math.isfinite(x) else math.nan


def summarise_point(rows: pa.Table, strategies: tuple[str, ...],
                    scenario: dict | None = None) -> list[dict]:
    """Per strategy: mean and 95% CI of connects/rep-h, abandon rate, the point's caps
    (``scenario``'s ``[constraints]``); the winner and its paired margin.

    The winner, which strategies comply and whether the winner is clear are the
    verdict of :func:`sim.analysis.compare.decide`, as ``dialsim run`` and the report
    give it; the per-day caps are judged from the worst-window columns the point rows
    keep (a sweep keeps no timeline).
    """
    data = rows.select(["strategy", "replication", HEADLINE, "outbound_" + HEADLINE,
                        "abandon_rate_with_amd"]).to_pylist()
    data.sort(key=lambda r: r["replication"])
    values = {s: [r[HEADLINE] for r in data if r["strategy"] == s] for s in strategies}
    outbound = {s: [r["outbound_" + HEADLINE] for r in data if r["strategy"] == s] for s in strategies}
    abandon = {s: t_interval([r["abandon_rate_with_amd"] for r in data if r["strategy"] == s])
               for s in strategies}
    intervals = {s: t_interval(values[s]) for s in strategies}
    verdict = decide(rows, strategies, scenario, metric=HEADLINE)
    ranked = sorted(strategies, key=lambda s: (s in verdict.breaking,
                                               -np.nan_to_num(intervals[s].mean, nan=-np.inf),
                                               strategies.index(s)))
    winner = verdict.best
    eligible = [s for s in ranked if s not in verdict.breaking]
    runner_up = eligible[1] if len(eligible) > 1 else None
    margin = paired_difference(values[winner], values[runner_up]) if runner_up else None
    out = []
    for strategy in strategies:
        iv = intervals[strategy]
        out.append({
            "strategy": strategy,
            "replications": iv.n,
            "connects_per_rep_hour_mean": iv.mean,
            "connects_per_rep_hour_ci95_low": _finite(iv.low),
            "connects_per_rep_hour_ci95_high": _finite(iv.high),
            "outbound_connects_per_rep_hour_mean": float(np.mean(outbound[strategy])),
            "abandon_rate_with_amd_mean": abandon[strategy].mean,
            "abandon_rate_with_amd_ci95_high": _finite(abandon[strategy].high),
            "complies": strategy not in verdict.breaking,
            "broken_caps": (verdict.breaking[strategy].describe()
                            if strategy in verdict.breaking else None),
            "rank": ranked.index(strategy) + 1,
            "is_winner": strategy == winner,
            "winner": winner,
            "runner_up": runner_up,
            "margin_mean": margin.mean if margin else math.nan,
            "margin_ci95_low": _finite(margin.low) if margin else math.nan,
            "margin_ci95_high": _finite(margin.high) if margin else math.nan,
            "margin_clear": runner_up is not None and verdict.separated,
        })
    return out


def is_tie(row: dict) -> bool:
    """A point's winner row that the verdict cannot separate from another strategy
    that complies (its ``margin_clear`` is false while it has a runner-up)."""
    return row["runner_up"] is not None and not row["margin_clear"]


def summary_table(sweep: Sweep, out_dir: Path, done: set[int]) -> pa.Table:
    """sweep_summary.parquet, computed from the point files on disk (so resume-proof)."""
    schema = summary_schema(sweep.parameters)
    columns: dict[str, list] = {name: [] for name in schema.names}
    for point in sweep.points:
        if point.point_id not in done:
            continue
        rows = pq.read_table(point_path(out_dir, point.point_id))
        for row in summarise_point(rows, sweep.strategies, point.scenario):
            columns["point_id"].append(point.point_id)
            for param in sweep.parameters:
                columns[param.key].append(param.column_value(point.values[param.key]))
            for name, value in row.items():
                columns[name].append(value)
    return pa.table(columns, schema=schema)


def read_sweep(run_dir: Path) -> tuple[dict, pa.Table, pa.Table]:
    """(manifest, points table, summary table) of a sweep results folder, checked."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest.get("kind") != "sweep":
        raise UserError(f"{run_dir}: holds a dialsim {manifest.get('kind')}, not a sweep")
    _check_sweep_manifest(run_dir / MANIFEST, manifest)
    manifest["status"] = sweep_status(manifest)
    keys = [p["key"] for p in manifest["parameters"]]
    tables = []
    for name, columns in ((POINTS_FILE, ["point_id", *keys, "status"]),
                          (SUMMARY_FILE, ["point_id", *keys, *(c[0] for c in SUMMARY_COLUMNS)])):
        path = run_dir / name
        if not path.exists():
            raise UserError(f"{run_dir}: no {name}; the sweep never finished a pass, run it again")
        if not path.is_file():
            raise UserError(f"{path}: not a file; damaged sweep folder: run it with --restart")
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"{path}: unreadable ({reason}); run the sweep again") from None
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise UserError(f"{path}: missing columns {', '.join(missing[:3])}; damaged or "
                            "from another version: run the sweep with --restart")
        tables.append(table)
    points, summary = tables
    wrong = [c for c, t, _u, _d in SUMMARY_COLUMNS if summary.schema.field(c).type != t]
    if wrong:
        raise UserError(f"{run_dir / SUMMARY_FILE}: columns of the wrong type "
                        f"({', '.join(wrong[:3])}); damaged: run the sweep with --restart")
    unknown = set(summary.column("strategy").to_pylist()) - set(manifest["strategies"])
    if unknown:
        raise UserError(f"{run_dir / SUMMARY_FILE}: strategies {', '.join(sorted(unknown)[:3])} "
                        "are not in the manifest; damaged: run the sweep with --restart")
    return manifest, points, summary


def sweep_status(manifest: dict) -> str:
    """The manifest's status, but "interrupted" for a "running" sweep whose process is gone.

    A sweep killed with SIGKILL (or by a power cut) cannot write "interrupted"; its
    manifest keeps "running" with the pid and host that wrote it, so readers check
    that process. On another host the recorded status is taken as it is.
    """
    status = manifest.get("status")
    if status == "running" and manifest.get("host") == socket.gethostname() \
            and not pid_alive(manifest.get("pid")):
        return "interrupted"
    return status


def _check_sweep_manifest(path: Path, manifest: dict) -> None:
    """The manifest fields plots and tables read, with the types they need."""
    params = manifest.get("parameters")
    strategies = manifest.get("strategies")
    problems = []
    if not isinstance(manifest.get("sweep_name"), str):
        problems.append("sweep_name should be text")
    if not (isinstance(params, list) and params and all(
            isinstance(p, dict) and isinstance(p.get("key"), str) for p in params)):
        problems.append("parameters should be a list of {key = ...} tables")
    if not (isinstance(strategies, list) and strategies and all(
            isinstance(s, str) for s in strategies)):
        problems.append("strategies should be a list of names")
    if problems:
        raise UserError(f"{path}: damaged sweep manifest ({'; '.join(problems)}); run the "
                        "sweep with --restart")
