"""Global sensitivity: which uncertain belief moves each strategy's headline, and the verdict.

A design (SALib: Morris elementary effects, or Sobol' with Saltelli's scheme) picks
points over the ``--vary`` ranges; every point is run as one sweep point (all
strategies, the same replications and seed at every point: common random numbers
across strategies and across points), resumable like any sweep. The outputs at a
point are each strategy's mean headline and the mean paired difference between each
pair of strategies; SALib computes each output's indices per parameter, with
bootstrap 95% intervals.

Results folder::

    manifest.json        kind "sensitivity": the design, ranges, method, what decides
    indices.parquet      per output x parameter x index: value, bootstrap 95% interval, rank
    outputs.parquet      per design point x output: its value (the numbers SALib analysed)
    evaluations/         the sweep behind it (docs/sweeps.md): one file per point
    plots/               the chart
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

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
    parse_ranges,
    point_rows,
    run_design_points,
    values_by_strategy,
)
from sim.experiment.sweep import Sweep, check_out_dir
from sim.store.results import MANIFEST, write_json_atomic, write_parquet_atomic

METHODS = ("morris", "sobol")
DEFAULT_SIZE = {"morris": 10, "sobol": 64}
MORRIS_LEVELS = 4
BOOTSTRAP_RESAMPLES = 1000
EVALUATIONS = "evaluations"
INDICES_FILE = "indices.parquet"
OUTPUTS_FILE = "outputs.parquet"
PRIMARY = {"morris": "mu_star", "sobol": "ST"}
MAX_POINTS = 20_000

INDEX_COLUMNS: tuple[tuple[str, pa.DataType, str, str], ...] = (
    ("output", pa.string(), "", "a strategy's name (its mean objective) or 'A - B' (mean paired difference A minus B)"),
    ("output_kind", pa.string(), "", "strategy or difference"),
    ("parameter", pa.string(), "", "the varied scenario key path"),
    ("index", pa.string(), "", "morris: mu_star, mu, sigma; sobol: S1, ST"),
    ("value", pa.float64(), "see description",
     "mu_star, mu, sigma: change of the output (its unit, e.g. 1/h) across the parameter's whole range; S1, ST: share of the output's variance (ratio)"),
    ("ci95_low", pa.float64(), "as value", "bootstrap 95% interval (SALib); NaN where SALib gives none (mu, sigma)"),
    ("ci95_high", pa.float64(), "as value", ""),
    ("rank", pa.int16(), "", "1 = most influential parameter for this output (by mu_star for morris, ST for sobol); same on every index row of a parameter"),
)
INDEX_SCHEMA = pa.schema([pa.field(n, t, metadata={"unit": u, "description": d})
                          for n, t, u, d in INDEX_COLUMNS])


@dataclass
class SensitivityPlan:
    """Everything decided before any simulation: checked, so bad input stops here."""

    base: Base
    ranges: list[Range]
    method: str
    size: int
    design_seed: int
    metric: str
    unit_x: np.ndarray  # the design in [0, 1]^k, as SALib made it
    sweep: Sweep

    @property
    def outputs(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(name, kind, strategies): each strategy, then each pair A - B in scenario order."""
        names = self.base.strategies
        out = [(name, "strategy", (name,)) for name in names]
        out += [(f"{a} - {b}", "difference", (a, b)) for a, b in itertools.combinations(names, 2)]
        return out

    def problem(self) -> dict:
        return {"num_vars": len(self.ranges), "names": [r.key for r in self.ranges],
                "bounds": [[0.0, 1.0]] * len(self.ranges)}


def plan_sensitivity(scenario: Path, vary: list[str], method: str, *, size: int | None = None,
                     overrides: list[str] | None = None, strategies: list[str] | None = None,
                     replications: int | None = None, seed: int | None = None,
                     design_seed: int = 0, metric: str = "connects_per_rep_hour") -> SensitivityPlan:
    """Check the options and build the design (nothing is run or written)."""
    if method not in METHODS:
        raise UserError(f"--method {method}: choose morris or sobol")
    if not vary:
        raise UserError("--vary: give at least one KEY=LOW:HIGH (two or more to compare them)")
    base = load_base(scenario, overrides or [], strategies, replications, seed)
    ranges = parse_ranges(vary, "--vary", base.resolved)
    if method == "sobol" and len(ranges) < 2:
        raise UserError("--method sobol: needs at least two --vary ranges")
    size = DEFAULT_SIZE[method] if size is None else size
    if size < 2:
        raise UserError(f"--size {size}: must be at least 2")
    if method == "sobol" and size & (size - 1):
        raise UserError(f"--size {size}: Sobol' sampling needs a power of two (e.g. 32, 64, 128)")
    n_points = size * (len(ranges) + 1) if method == "morris" else size * (len(ranges) + 2)
    if n_points > MAX_POINTS:
        raise UserError(f"--size {size}: {n_points:,} design points is more than {MAX_POINTS:,}")
    from sim.analysis.objective import Objective

    Objective(metric)  # checks the metric name
    problem = {"num_vars": len(ranges), "names": [r.key for r in ranges],
               "bounds": [[0.0, 1.0]] * len(ranges)}
    unit_x = _sample(method, problem, size, design_seed)
    rows = [{r.key: r.value(u) for r, u in zip(ranges, row)} for row in unit_x]
    name = f"{base.scenario.name}-sensitivity-{method}"
    sweep = designed_sweep(name, base, [r.parameter() for r in ranges], rows,
                           description=f"{method} design over {', '.join(r.key for r in ranges)}")
    first_invalid(sweep, "--vary")
    return SensitivityPlan(base, ranges, method, size, design_seed, metric, unit_x, sweep)


def _sample(method: str, problem: dict, size: int, seed: int) -> np.ndarray:
    import warnings

    if method == "morris":
        from SALib.sample import morris as morris_sample

        return morris_sample.sample(problem, size, num_levels=MORRIS_LEVELS, seed=seed)
    from SALib.sample import sobol as sobol_sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sobol_sample.sample(problem, size, calc_second_order=False, seed=seed)


@dataclass
class SensitivityOutcome:
    out_dir: Path
    status: str
    indices: pa.Table | None = None
    decides: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    sweep_outcome: object = None


def check_sensitivity_dir(plan: SensitivityPlan, out_dir: Path, restart: bool) -> None:
    """Refuse a folder holding anything but this kind of results, before any work."""
    check_results_dir(out_dir, "sensitivity", restart)
    check_out_dir(out_dir / EVALUATIONS, plan.sweep, restart)


def run_sensitivity(plan: SensitivityPlan, out_dir: Path, executor, *, restart: bool = False,
                    run_points=None, executor_label: str = "local") -> SensitivityOutcome:
    """Run (or resume) the design's points, then analyse and write the results.

    ``run_points(sweep, folder, executor, restart, label)`` runs the sweep (with a
    progress bar in the CLI); default: :func:`sim.experiment.sweep.run_sweep`.
    """
    out_dir = Path(out_dir)
    started = time.perf_counter()
    check_sensitivity_dir(plan, out_dir, restart)
    manifest = begin_designed_run(out_dir, _manifest(plan, executor, executor_label))
    run_points = run_points or run_design_points
    try:
        outcome = run_points(plan.sweep, out_dir / EVALUATIONS, executor, restart, executor_label)
    except BaseException:
        manifest["status"] = "interrupted"
        write_json_atomic(manifest, out_dir / MANIFEST)
        raise
    result = SensitivityOutcome(out_dir, "failed", sweep_outcome=outcome)
    if not outcome.ok:
        manifest["status"] = "failed"
        write_json_atomic(manifest, out_dir / MANIFEST)
        result.wall_s = time.perf_counter() - started
        return result
    outputs = _outputs(plan, out_dir / EVALUATIONS)
    indices = analyse(plan, outputs)
    write_parquet_atomic(_outputs_table(plan, outputs), out_dir / OUTPUTS_FILE)
    write_parquet_atomic(indices, out_dir / INDICES_FILE)
    result.indices = indices
    result.decides = what_decides(plan, indices)
    result.status = "complete"
    result.wall_s = time.perf_counter() - started
    manifest.update({
        "status": "complete",
        "what_decides": result.decides,
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "timings_s": {"this_run": round(result.wall_s, 3)},
        "files": {INDICES_FILE: indices.num_rows, OUTPUTS_FILE: len(plan.sweep.points) * len(outputs)},
    })
    write_json_atomic(jsonable(manifest), out_dir / MANIFEST)
    return result


def _manifest(plan: SensitivityPlan, executor, label: str) -> dict:
    return designed_manifest(
        "sensitivity", plan.base, executor, label,
        method=plan.method, size=plan.size, design_seed=plan.design_seed,
        morris_levels=MORRIS_LEVELS if plan.method == "morris" else None,
        bootstrap_resamples=BOOTSTRAP_RESAMPLES, metric=plan.metric,
        ranges=[r.describe() for r in plan.ranges], points=len(plan.sweep.points),
        replications=plan.base.replications, strategies=list(plan.base.strategies),
        outputs=[{"output": name, "kind": kind} for name, kind, _ in plan.outputs],
        evaluations=EVALUATIONS, fingerprint=plan.sweep.fingerprint)


def _outputs(plan: SensitivityPlan, folder: Path) -> dict[str, np.ndarray]:
    """Output name -> one value per design point (point order), read from the point files."""
    columns = ["strategy", "replication", plan.metric]
    values = {name: np.empty(len(plan.sweep.points)) for name, _, _ in plan.outputs}
    for point in plan.sweep.points:  # one point in memory at a time
        per = values_by_strategy(point_rows(folder, point.point_id, columns), plan.metric,
                                 plan.base.strategies)
        for name, kind, names in plan.outputs:
            if kind == "strategy":
                values[name][point.point_id] = np.nanmean(per[names[0]])
            else:
                values[name][point.point_id] = np.nanmean(per[names[0]] - per[names[1]])
    return values


def _outputs_table(plan: SensitivityPlan, outputs: dict[str, np.ndarray]) -> pa.Table:
    n = len(plan.sweep.points)
    columns: dict[str, list] = {"point_id": [], **{r.key: [] for r in plan.ranges},
                                "output": [], "value": []}
    for name, values in outputs.items():
        columns["point_id"] += list(range(n))
        for r in plan.ranges:
            columns[r.key] += [p.values[r.key] for p in plan.sweep.points]
        columns["output"] += [name] * n
        columns["value"] += [float(v) for v in values]
    fields = [pa.field("point_id", pa.int32(), metadata={"description": "design point"})]
    fields += [pa.field(r.key, pa.int64() if r.integer else pa.float64(),
                        metadata={"description": "varied scenario key"}) for r in plan.ranges]
    fields += [pa.field("output", pa.string(), metadata={"description": "as in indices.parquet"}),
               pa.field("value", pa.float64(), metadata={
                   "unit": "the metric's (1/h for connects_per_rep_hour)",
                   "description": "mean over replications at this point"})]
    return pa.table(columns, schema=pa.schema(fields))


def analyse(plan: SensitivityPlan, outputs: dict[str, np.ndarray]) -> pa.Table:
    """SALib's indices for every output, with bootstrap intervals and a rank per output."""
    import warnings

    problem = plan.problem()
    columns: dict[str, list] = {name: [] for name in INDEX_SCHEMA.names}
    kinds = {name: kind for name, kind, _ in plan.outputs}
    for name, y in outputs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if plan.method == "morris":
                from SALib.analyze import morris

                res = morris.analyze(problem, plan.unit_x, y, num_resamples=BOOTSTRAP_RESAMPLES,
                                     conf_level=0.95, num_levels=MORRIS_LEVELS,
                                     seed=plan.design_seed)
                rows = {"mu_star": (res["mu_star"], res["mu_star_conf"]),
                        "mu": (res["mu"], None), "sigma": (res["sigma"], None)}
            else:
                from SALib.analyze import sobol

                res = sobol.analyze(problem, y, calc_second_order=False,
                                    num_resamples=BOOTSTRAP_RESAMPLES, conf_level=0.95,
                                    seed=plan.design_seed)
                rows = {"S1": (res["S1"], res["S1_conf"]), "ST": (res["ST"], res["ST_conf"])}
        primary = np.nan_to_num(np.asarray(rows[PRIMARY[plan.method]][0], dtype=float), nan=-np.inf)
        order = np.argsort(-primary, kind="stable")
        rank = np.empty(len(plan.ranges), dtype=int)
        rank[order] = np.arange(1, len(plan.ranges) + 1)
        for i, rng in enumerate(plan.ranges):
            for index, (values, conf) in rows.items():
                value = float(np.asarray(values, dtype=float)[i])
                half = float(np.asarray(conf, dtype=float)[i]) if conf is not None else math.nan
                columns["output"].append(name)
                columns["output_kind"].append(kinds[name])
                columns["parameter"].append(rng.key)
                columns["index"].append(index)
                columns["value"].append(value)
                columns["ci95_low"].append(value - half)
                columns["ci95_high"].append(value + half)
                columns["rank"].append(int(rank[i]))
    return pa.table(columns, schema=INDEX_SCHEMA)


def what_decides(plan: SensitivityPlan, indices: pa.Table) -> list[str]:
    """One plain sentence per output: the parameters that matter, most first."""
    primary = PRIMARY[plan.method]
    rows = [r for r in indices.to_pylist() if r["index"] == primary]
    lines = []
    for name, kind, _ in plan.outputs:
        mine = sorted((r for r in rows if r["output"] == name), key=lambda r: r["rank"])
        top = mine[0]["value"] if mine else 0.0
        strong = [r for r in mine if r["value"] > 0 and r["ci95_low"] > 0
                  and r["value"] >= 0.1 * top]
        what = (f"the verdict {name} is decided by" if kind == "difference"
                else f"{name}'s {plan.metric} is decided by")
        if not strong:
            lines.append(f"{what} none of the varied beliefs (no index clearly above 0)")
            continue
        parts = [f"{r['parameter']} ({primary} {r['value']:.3g})" for r in strong[:3]]
        lines.append(f"{what} {', then '.join(parts)}")
    return lines
