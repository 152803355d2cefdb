"""What ``dialsim sensitivity``, ``map`` and ``optimise`` show, and how they run points.

The commands' options live in cli.py; this module chooses the executor, runs each
batch of points as a resumable sweep with the sweep's progress bar, stops cleanly on
Ctrl-C or SIGTERM (finished points stay; the same command resumes), and prints the
tables.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.errors import UserError
from sim.analysis.formatting import interval_text, low_to_high
from sim.present.sweep_console import _Interrupted, _run_with_progress, _sigterm_as_interrupt


def make_executor(workers: int | None, scheduler: str | None, tasks: int):
    """(executor, label) for local workers or a Dask cluster; options checked first."""
    if scheduler is not None and workers is not None:
        raise UserError("--workers: only for local runs; a Dask cluster (--scheduler) has its "
                        "own workers")
    if scheduler is not None and "://" not in scheduler:
        raise UserError(f"--scheduler {scheduler}: expected an address like tcp://HOST:PORT")
    from sim.experiment.executors import DaskExecutor, default_workers, local_executor

    if scheduler is not None:
        return DaskExecutor(scheduler), f"dask {scheduler}"
    n = max(1, min(workers or default_workers(), tasks))
    return local_executor(n), f"local ({n} workers)"


def point_runner(quiet: bool, err: Console):
    """A ``run_points`` for the experiment layer: the sweep machinery with a progress bar."""
    def run(sweep, folder, executor, restart, label):
        return _run_with_progress(sweep, folder, executor, restart, label, quiet, err)
    return run


def stopped(exc: KeyboardInterrupt, target: Path, err: Console) -> int:
    sigterm = isinstance(exc, _Interrupted)
    err.print(f"[bold yellow]stopped[/] ({'SIGTERM' if sigterm else 'Ctrl-C'}): finished "
              f"points are kept in {escape(str(target))}; run the same command again to resume",
              highlight=False, soft_wrap=True)
    return 143 if sigterm else 130


def _failures(outcome, err: Console) -> None:
    for point, error in (outcome.failed or [])[:20]:
        err.print(f"[bold red]error:[/] point {point.point_id} ({escape(point.label())}): "
                  f"{escape(error)}", highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------
# sensitivity


def sensitivity_command(scenario: Path, *, vary: list[str], method: str, size: int | None,
                        overrides: list[str], strategies: list[str] | None,
                        replications: int | None, seed: int | None, design_seed: int,
                        metric: str, workers: int | None, scheduler: str | None,
                        out_dir: Path | None, restart: bool, quiet: bool,
                        out: Console, err: Console) -> int:
    from sim.experiment.runs import _safe_name
    from sim.experiment.sensitivity import check_sensitivity_dir, plan_sensitivity, run_sensitivity
    from sim.present.sensitivity_plots import plot_sensitivity

    plan = plan_sensitivity(scenario, vary, method, size=size, overrides=overrides,
                            strategies=strategies, replications=replications, seed=seed,
                            design_seed=design_seed, metric=metric)
    target = out_dir or Path("results") / _safe_name(plan.sweep.name)
    check_sensitivity_dir(plan, target, restart)
    if not quiet:
        err.print(f"{method}: {len(plan.sweep.points)} points x {plan.base.replications} "
                  f"replications x {len(plan.base.strategies)} strategies",
                  highlight=False, soft_wrap=True)
    executor, label = make_executor(workers, scheduler,
                                    len(plan.sweep.points) * plan.base.replications)
    try:
        with _sigterm_as_interrupt(), executor:
            result = run_sensitivity(plan, target, executor, restart=restart,
                                     run_points=point_runner(quiet, err), executor_label=label)
    except KeyboardInterrupt as exc:
        return stopped(exc, target, err)
    if result.status != "complete":
        _failures(result.sweep_outcome, err)
        err.print(f"[bold red]error:[/] some points failed; nothing analysed (see "
                  f"{escape(str(target / 'evaluations'))}); run again to retry them",
                  highlight=False, soft_wrap=True)
        return 1
    import json

    manifest = json.loads((target / "manifest.json").read_text())
    chart = plot_sensitivity(result.indices, manifest, target / "plots")
    if not quiet:
        print_indices(result.indices, method, out)
        for line in result.decides:
            out.print(escape(line), highlight=False, soft_wrap=True)
        err.print(f"results: {escape(str(target))}  (chart {escape(str(chart))}; "
                  f"{result.wall_s:.1f} s, {label})", highlight=False, soft_wrap=True)
    return 0


def print_indices(indices, method: str, out: Console) -> None:
    """Per output: each parameter's main index with its 95% interval, ranked."""
    primary = "mu_star" if method == "morris" else "ST"
    rows = [r for r in indices.to_pylist() if r["index"] == primary]
    table = Table(title=f"{'Morris mu*' if method == 'morris' else 'Sobol ST'} with "
                        "bootstrap 95% interval; 1 = decides most", title_justify="left")
    table.add_column("output", style="bold", no_wrap=True)
    table.add_column("rank", justify="right")
    table.add_column("parameter", overflow="fold")
    table.add_column(primary, justify="right", no_wrap=True)
    table.add_column("95% interval", justify="right", no_wrap=True)
    order = list(dict.fromkeys(r["output"] for r in rows))
    top = {name: max((abs(r["value"]) for r in rows if r["output"] == name), default=0.0)
           for name in order}
    last = None
    for r in sorted(rows, key=lambda r: (order.index(r["output"]), r["rank"])):
        show = r["output"] if r["output"] != last else ""
        last = r["output"]
        tiny = 1e-9 * max(top[r["output"]], 1e-300)  # rounding noise of a difference: 0

        def num(x, tiny=tiny):
            return "0" if abs(x) <= tiny else f"{x:.3g}"
        table.add_row(escape(show), str(r["rank"]), escape(r["parameter"]), num(r["value"]),
                      low_to_high(r["ci95_low"], r["ci95_high"], num))
    out.print(table)


# ---------------------------------------------------------------------------------
# map


def map_command(scenario: Path, *, x: str, y: str, grid: int, depth: int, overrides: list[str],
                strategies: list[str] | None, replications: int | None, seed: int | None,
                objective, marks: list[Path], workers: int | None, scheduler: str | None,
                out_dir: Path | None, restart: bool, quiet: bool, out: Console,
                err: Console) -> int:
    from sim.experiment.decision_map import check_map_dir, own_label, plan_map, run_map
    from sim.experiment.runs import _safe_name
    from sim.present.map_plots import plot_map

    plan = plan_map(scenario, x, y, grid=grid, depth=depth, overrides=overrides,
                    strategies=strategies, replications=replications, seed=seed,
                    objective=objective, marks=marks)
    name = f"{plan.base.scenario.name}-map"
    target = out_dir or Path("results") / _safe_name(name)
    check_map_dir(plan, target, restart)
    executor, label = make_executor(workers, scheduler, grid * grid * plan.base.replications)
    try:
        with _sigterm_as_interrupt(), executor:
            result = run_map(plan, target, executor, restart=restart,
                             run_points=point_runner(quiet, err), executor_label=label)
    except KeyboardInterrupt as exc:
        return stopped(exc, target, err)
    if result.status != "complete":
        _failures(result.sweep_outcome, err)
        err.print(f"[bold red]error:[/] some points failed; the map is incomplete; run again "
                  "to retry them", highlight=False, soft_wrap=True)
        return 1
    chart = plot_map(plan, result.points, target / "plots", plan.base.scenario.name)
    if not quiet:
        labels = [p.label for p in result.points.values()]
        counts = ", ".join(f"{n} {labels.count(n)}" for n in sorted(set(labels)))
        out.print(f"at your scenario's beliefs ({plan.x.key}={plan.own[0]:g}, "
                  f"{plan.y.key}={plan.own[1]:g}): {own_label(plan, result.points)}",
                  highlight=False, soft_wrap=True)
        out.print(f"{len(result.points)} points simulated in {result.rounds} rounds (a full "
                  f"grid at this resolution: {(plan.steps + 1) ** 2}); labels: {counts}",
                  highlight=False, soft_wrap=True)
        err.print(f"results: {escape(str(target))}  (chart {escape(str(chart))}; "
                  f"{result.wall_s:.1f} s, {label})", highlight=False, soft_wrap=True)
    return 0


# ---------------------------------------------------------------------------------
# optimise



def write_scenario(data: dict, path: Path) -> None:
    """The best policy as a scenario file (atomically; TOML has no null: None keys left
    out, a null break written "none")."""
    import tomli_w

    from sim.scenario.schema import toml_data

    from sim.present.plots import write_bytes_atomic

    header = ("# written by dialsim optimise: the best policy found, beside the best built-in\n"
              "# strategy; every parameter resolved. Run it: dialsim run THIS_FILE\n")
    write_bytes_atomic((header + tomli_w.dumps(toml_data(data))).encode("utf-8"), path)


def optimise_command(scenario: Path, *, space: Path, overrides: list[str], seed: int | None,
                     objective, workers: int | None, scheduler: str | None,
                     out_dir: Path | None, restart: bool, quiet: bool, out: Console,
                     err: Console) -> int:
    from sim.analysis.compare import fmt_number
    from sim.experiment.optimise import check_optimise_dir, plan_optimise, run_optimise
    from sim.experiment.runs import _safe_name

    plan = plan_optimise(scenario, space, overrides=overrides, seed=seed, objective=objective)
    target = out_dir or Path("results") / _safe_name(f"{plan.base.scenario.name}-optimise")
    check_optimise_dir(plan, target, restart)
    search = plan.space.search
    if not quiet:
        err.print(f"{len(plan.candidates)} candidates ({plan.dropped_duplicates} duplicate "
                  f"policies dropped); successive halving from {search.first_replications} "
                  f"replications, eta {search.eta}, then selection among {search.finalists} "
                  f"at PCS {search.pcs:g} (indifference {search.indifference:g})",
                  highlight=False, soft_wrap=True)
    executor, label = make_executor(workers, scheduler,
                                    len(plan.candidates) * search.first_replications)
    try:
        with _sigterm_as_interrupt(), executor:
            result = run_optimise(plan, target, executor, restart=restart,
                                  run_points=point_runner(quiet, err), executor_label=label)
    except KeyboardInterrupt as exc:
        return stopped(exc, target, err)
    if result.status == "failed":
        _failures(result.sweep_outcome, err)
        err.print("[bold red]error:[/] some candidates failed; run again to retry them",
                  highlight=False, soft_wrap=True)
        return 1
    if result.status == "no_compliant":
        err.print(f"[bold red]error:[/] {escape(result.message)}; nothing to recommend "
                  f"(see {escape(str(target / 'candidates.parquet'))})", highlight=False,
                  soft_wrap=True)
        return 1
    path = target / "best_policy.toml"
    write_scenario(result.scenario, path)
    metric = plan.objective.metric
    iv = result.best_interval
    out.print(f"best policy: {escape(result.best.label())}", highlight=False, soft_wrap=True)
    out.print(f"  {metric}: {interval_text(iv, '.3f')} over {result.replications} "
              "replications", highlight=False, soft_wrap=True)
    if result.margin is not None:
        m = result.margin
        out.print(f"  vs best built-in {result.builtin} ({result.builtin_interval.mean:.3f}): "
                  f"{m.mean:+.3f} (paired 95% interval {fmt_number(m.low)} to "
                  f"{fmt_number(m.high)})", highlight=False, soft_wrap=True)
    else:
        out.print("  no built-in strategy meets the constraints", highlight=False)
    claim = (f"  selection: probability of correct selection >= {search.pcs:g} among "
             f"{len(result.finalists)} finalists when the best leads by >= "
             f"{search.indifference:g}")
    if result.stage2_capped:
        claim += (f" NOT guaranteed: capped at max_replications = {search.max_replications}")
    out.print(claim, highlight=False, soft_wrap=True)
    if not quiet:
        err.print(f"results: {escape(str(target))}  (scenario {escape(str(path))}; "
                  f"{result.wall_s:.1f} s, {label})", highlight=False, soft_wrap=True)
    return 0
