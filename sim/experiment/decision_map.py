"""Decision maps: the best strategy over the plane of two beliefs, refined near boundaries.

A coarse grid of points over the two ranges is run first (every strategy at every
point, one seed everywhere: common random numbers). A point's **label** is its best
compliant strategy, or ``tie`` when the paired 95% interval of the best minus the
runner-up covers 0 (``none`` when no strategy meets the constraints). Then, round by
round, every cell whose four corners do not all carry the same label is cut into
four: its centre and edge midpoints are run, and so on ``depth`` times. Cells deep
inside a region are never refined, so the points go to the boundaries.

All points sit on one lattice of ``(grid - 1) x 2^depth`` steps per axis (equal
steps in log for a log range), so a point is run once however many cells share it.
Each round is a sweep of its new points under ``rounds/round-K/`` (resumable: the
rounds are decided by the results before them, which are deterministic).

Results folder::

    manifest.json       kind "map": ranges, grid, depth, objective, constraints, rounds
    map.parquet         per point x strategy: the values, the objective, compliance, label
    rounds/round-K/     each round's sweep dataset (docs/sweeps.md)
    plots/              the map
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from sim.analysis.objective import Objective
from sim.analysis.compare import decide
from sim.analysis.stats import t_interval
from sim.errors import UserError
from sim.experiment.designs import (
    Base,
    Range,
    begin_designed_run,
    check_results_dir,
    designed_manifest,
    designed_sweep,
    first_invalid,
    jsonable,
    load_base,
    parse_range,
    point_rows,
    run_design_points,
    values_by_strategy,
)
from sim.experiment.sweep import check_out_dir
from sim.scenario.schema import load_scenario
from sim.store.results import MANIFEST, write_json_atomic, write_parquet_atomic

TIE = "tie"
NONE = "none"  # no strategy meets the constraints
MAP_FILE = "map.parquet"
ROUNDS = "rounds"


@dataclass
class MapPlan:
    base: Base
    x: Range
    y: Range
    grid: int
    depth: int
    objective: Objective
    marks: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (x, y)

    @property
    def steps(self) -> int:
        """Lattice steps per axis at the finest level."""
        return (self.grid - 1) * 2 ** self.depth

    def values(self, i: int, j: int) -> dict:
        return {self.x.key: self.x.value(i / self.steps), self.y.key: self.y.value(j / self.steps)}

    @property
    def own(self) -> tuple[float, float]:
        """The scenario's own beliefs on this plane."""
        from sim.experiment.sweep.spec import _value_at

        return (float(_value_at(self.base.resolved, self.x.key.split("."))),
                float(_value_at(self.base.resolved, self.y.key.split("."))))


def plan_map(scenario: Path, x: str, y: str, *, grid: int = 5, depth: int = 2,
             overrides: list[str] | None = None, strategies: list[str] | None = None,
             replications: int | None = None, seed: int | None = None,
             objective: Objective | None = None, marks: list[Path] | None = None) -> MapPlan:
    """Check everything and decide the first round (nothing is run or written)."""
    base = load_base(scenario, overrides or [], strategies, replications, seed, min_strategies=2)
    rx = parse_range(x, "--x", base.resolved)
    ry = parse_range(y, "--y", base.resolved)
    if rx.key == ry.key:
        raise UserError(f"--y {y}: the same key as --x; choose two different beliefs")
    if not 2 <= grid <= 33:
        raise UserError(f"--grid {grid}: must be between 2 and 33 points per axis")
    if not 0 <= depth <= 5:
        raise UserError(f"--depth {depth}: must be between 0 and 5 refinements")
    if base.replications < 2:
        raise UserError("-n 1: a tie can only be told from a win with at least 2 replications")
    plan = MapPlan(base, rx, ry, grid, depth, objective or Objective())
    for path in marks or []:
        other = load_scenario(path).resolved()
        from sim.experiment.sweep.spec import _lookup_problem, _value_at

        for rng in (rx, ry):
            if _lookup_problem(other, rng.key.split(".")):
                raise UserError(f"--mark {path}: has no key {rng.key}")
        plan.marks[Path(path).stem] = (float(_value_at(other, rx.key.split("."))),
                                       float(_value_at(other, ry.key.split("."))))
    first = _round_sweep(plan, 0, _coarse(plan))
    first_invalid(first, "--x/--y")
    corners = _round_sweep(plan, 0, [(0, 0), (plan.steps, 0), (0, plan.steps),
                                     (plan.steps, plan.steps)])
    first_invalid(corners, "--x/--y")
    return plan


def _coarse(plan: MapPlan) -> list[tuple[int, int]]:
    step = 2 ** plan.depth
    return [(i, j) for j in range(0, plan.steps + 1, step) for i in range(0, plan.steps + 1, step)]


def _round_sweep(plan: MapPlan, k: int, lattice: list[tuple[int, int]]):
    rows = [plan.values(i, j) for i, j in lattice]
    return designed_sweep(f"{plan.base.scenario.name}-map-round-{k}", plan.base,
                          [plan.x.parameter(), plan.y.parameter()], rows,
                          description=f"decision map round {k}")


@dataclass
class PointResult:
    i: int
    j: int
    round: int
    values: dict
    means: dict[str, float]
    half_widths: dict[str, float]
    compliant: dict[str, bool]
    label: str
    winner: str | None
    runner_up: str | None
    margin: tuple[float, float, float]  # mean, low, high


def judge(rows: pa.Table, strategies: tuple[str, ...], objective: Objective,
          scenario=None) -> dict:
    """The label of one point from its summary rows: the verdict of
    :func:`sim.analysis.compare.decide` (as ``dialsim run`` and sweeps give it) on the
    objective, under the scenario's ``[constraints]`` and the objective's caps: the
    winner, "tie" when the verdict cannot separate it from another strategy that
    complies, "none" when none complies."""
    per = {metric: values_by_strategy(rows, metric, strategies) for metric in objective.metrics()}
    verdict = decide(rows, strategies, scenario, metric=objective.metric,
                     constraints=objective.constraints)
    intervals = {s: t_interval(per[objective.metric][s]) for s in strategies}
    compliant = {s: s not in verdict.breaking for s in strategies}
    winner = verdict.best
    ranked = sorted((s for s in strategies if compliant[s] and s != winner),
                    key=lambda s: (-np.nan_to_num(intervals[s].mean, nan=-np.inf),
                                   strategies.index(s)))
    runner = ranked[0] if winner is not None and ranked else None
    margin = (math.nan, math.nan, math.nan)
    label = NONE if winner is None else winner
    if runner is not None:
        gap = verdict.gaps[runner]
        margin = (gap.mean, gap.low, gap.high)
        if not verdict.separated:
            label = TIE
    return {"means": {s: intervals[s].mean for s in strategies},
            "half_widths": {s: intervals[s].half_width for s in strategies},
            "compliant": compliant, "label": label, "winner": winner, "runner_up": runner,
            "margin": margin}


@dataclass
class MapOutcome:
    out_dir: Path
    status: str
    points: dict[tuple[int, int], PointResult] = field(default_factory=dict)
    rounds: int = 0
    wall_s: float = 0.0
    sweep_outcome: object = None
    table: pa.Table | None = None


def check_map_dir(plan: MapPlan, out_dir: Path, restart: bool) -> None:
    """Refuse a folder of other results, or of a map with another design, before any work."""
    check_results_dir(out_dir, "map", restart)
    manifest = out_dir / MANIFEST
    if manifest.exists() and not restart:
        import json

        old = json.loads(manifest.read_text())
        mine = jsonable({"objective": plan.objective.describe(), "grid": plan.grid,
                         "depth": plan.depth, "x": plan.x.describe(), "y": plan.y.describe()})
        changed = [key for key, value in mine.items() if old.get(key) != value]
        if changed:
            raise UserError(f"--out {out_dir}: holds a map with another {', '.join(changed)}; "
                            "use another --out, or --restart to discard it")
    check_out_dir(out_dir / ROUNDS / "round-0", _round_sweep(plan, 0, _coarse(plan)), restart)


def run_map(plan: MapPlan, out_dir: Path, executor, *, restart: bool = False, run_points=None,
            executor_label: str = "local") -> MapOutcome:
    """Run the coarse grid, then refine cells whose corners disagree, ``depth`` times."""
    out_dir = Path(out_dir)
    started = time.perf_counter()
    check_map_dir(plan, out_dir, restart)
    manifest = begin_designed_run(out_dir, _manifest(plan, executor, executor_label), restart,
                                  (ROUNDS, MAP_FILE))
    run_points = run_points or run_design_points
    outcome = MapOutcome(out_dir, "interrupted")
    step = 2 ** plan.depth
    cells = [(i, j, step) for j in range(0, plan.steps, step) for i in range(0, plan.steps, step)]
    todo = _coarse(plan)
    try:
        for k in range(plan.depth + 1):
            sweep = _round_sweep(plan, k, todo)
            folder = out_dir / ROUNDS / f"round-{k}"
            result = run_points(sweep, folder, executor, False, executor_label)
            outcome.sweep_outcome = result
            outcome.rounds = k + 1
            if not result.ok:
                outcome.status = "failed"
                break
            for point, (i, j) in zip(sweep.points, todo):
                rows = point_rows(folder, point.point_id, None)  # every cap's columns
                verdict = judge(rows, plan.base.strategies, plan.objective, plan.base.resolved)
                outcome.points[(i, j)] = PointResult(i, j, k, point.values, **verdict)
            if k == plan.depth:
                outcome.status = "complete"
                break
            cells, todo = _refine(cells, outcome.points)
            if not todo:
                outcome.status = "complete"
                break
    except BaseException:
        manifest["status"] = "interrupted"
        write_json_atomic(jsonable(manifest), out_dir / MANIFEST)
        raise
    outcome.wall_s = time.perf_counter() - started
    if outcome.points:
        outcome.table = map_table(plan, outcome.points)
        write_parquet_atomic(outcome.table, out_dir / MAP_FILE)
    labels = [p.label for p in outcome.points.values()]
    manifest.update({
        "status": outcome.status,
        "rounds_run": outcome.rounds,
        "points_run": len(outcome.points),
        "points_full_grid": (plan.steps + 1) ** 2,
        "labels": {label: labels.count(label) for label in sorted(set(labels))},
        "own_point_label": own_label(plan, outcome.points) if outcome.points else None,
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "timings_s": {"this_run": round(outcome.wall_s, 3)},
    })
    write_json_atomic(jsonable(manifest), out_dir / MANIFEST)
    return outcome


def _refine(cells, points):
    """Cut every cell whose corners disagree; return (new cells, lattice points to run)."""
    new_cells, todo = [], []
    for i, j, size in cells:
        corners = {points[(i + di, j + dj)].label for di in (0, size) for dj in (0, size)}
        if len(corners) == 1 or size < 2:
            continue
        half = size // 2
        for di in (0, half):
            for dj in (0, half):
                new_cells.append((i + di, j + dj, half))
        for di in (0, half, size):
            for dj in (0, half, size):
                if (i + di, j + dj) not in points and (i + di, j + dj) not in todo:
                    todo.append((i + di, j + dj))
    todo.sort(key=lambda p: (p[1], p[0]))
    return new_cells, todo


def own_label(plan: MapPlan, points: dict) -> str:
    """The label of the evaluated point nearest the scenario's own beliefs."""
    ux, uy = (_unit(plan.x, plan.own[0]), _unit(plan.y, plan.own[1]))
    nearest = min(points.values(), key=lambda p: (p.i / plan.steps - ux) ** 2
                  + (p.j / plan.steps - uy) ** 2)
    return nearest.label


def _unit(rng: Range, value: float) -> float:
    if rng.scale == "log" and value <= 0:
        return -math.inf
    return rng.unit(value)


def _manifest(plan: MapPlan, executor, label: str) -> dict:
    return designed_manifest(
        "map", plan.base, executor, label,
        x=plan.x.describe(), y=plan.y.describe(), grid=plan.grid, depth=plan.depth,
        lattice_steps=plan.steps, objective=plan.objective.describe(),
        replications=plan.base.replications, strategies=list(plan.base.strategies),
        own_point=list(plan.own), marks={name: list(xy) for name, xy in plan.marks.items()})


def map_schema(plan: MapPlan) -> pa.Schema:
    kind = {True: pa.int64(), False: pa.float64()}
    metric = plan.objective.metric
    columns = [
        ("round", pa.int16(), "", "refinement round that ran the point (0 = the coarse grid)"),
        ("i", pa.int32(), "", f"lattice index along --x (0..{plan.steps})"),
        ("j", pa.int32(), "", f"lattice index along --y (0..{plan.steps})"),
        (plan.x.key, kind[plan.x.integer], "", "--x value"),
        (plan.y.key, kind[plan.y.integer], "", "--y value"),
        ("strategy", pa.string(), "", "strategy"),
        (f"{metric}_mean", pa.float64(), "metric's unit (1/h for rates)", "mean over replications"),
        (f"{metric}_ci95_half_width", pa.float64(), "as the mean", "Student-t 95% half-width"),
        ("compliant", pa.bool_(), "", "meets every constraint at this point"),
        ("label", pa.string(), "", "the point's best compliant strategy, 'tie' (the paired interval of best minus runner-up covers 0) or 'none' (no strategy compliant); repeated per strategy"),
        ("winner", pa.string(), "", "best compliant strategy by mean (even when the label is tie)"),
        ("runner_up", pa.string(), "", "second compliant strategy; null if fewer than two"),
        ("margin_mean", pa.float64(), "as the mean", "winner minus runner-up, paired by replication"),
        ("margin_ci95_low", pa.float64(), "as the mean", "paired Student-t 95% interval"),
        ("margin_ci95_high", pa.float64(), "as the mean", ""),
    ]
    return pa.schema([pa.field(n, t, metadata={"unit": u, "description": d})
                      for n, t, u, d in columns])


def map_table(plan: MapPlan, points: dict) -> pa.Table:
    schema = map_schema(plan)
    metric = plan.objective.metric
    cols: dict[str, list] = {name: [] for name in schema.names}
    for (i, j) in sorted(points, key=lambda ij: (ij[1], ij[0])):
        p = points[(i, j)]
        for s in plan.base.strategies:
            cols["round"].append(p.round)
            cols["i"].append(i)
            cols["j"].append(j)
            cols[plan.x.key].append(p.values[plan.x.key])
            cols[plan.y.key].append(p.values[plan.y.key])
            cols["strategy"].append(s)
            cols[f"{metric}_mean"].append(p.means[s])
            cols[f"{metric}_ci95_half_width"].append(p.half_widths[s])
            cols["compliant"].append(p.compliant[s])
            cols["label"].append(p.label)
            cols["winner"].append(p.winner)
            cols["runner_up"].append(p.runner_up)
            cols["margin_mean"].append(p.margin[0])
            cols["margin_ci95_low"].append(p.margin[1])
            cols["margin_ci95_high"].append(p.margin[2])
    return pa.table(cols, schema=schema)


def label_raster(plan: MapPlan, points: dict, resolution: int = 240) -> tuple[np.ndarray, list[str]]:
    """Labels on a ``resolution`` square raster of the unit plane (nearest evaluated point).

    Inside a cell that was not refined all four corners agree, so the nearest point is
    that label; near boundaries the refined points draw the boundary.
    """
    from scipy.spatial import cKDTree

    keys = list(points)
    names = sorted({points[k].label for k in keys})
    coords = np.array([(i / plan.steps, j / plan.steps) for i, j in keys])
    codes = np.array([names.index(points[k].label) for k in keys])
    centres = (np.arange(resolution) + 0.5) / resolution
    gx, gy = np.meshgrid(centres, centres)
    _, nearest = cKDTree(coords).query(np.column_stack([gx.ravel(), gy.ravel()]))
    return codes[nearest].reshape(resolution, resolution), names
