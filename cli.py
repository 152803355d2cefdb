"""dialsim: the command line. Thin typer commands over the library in ``sim``.

User mistakes print one clear line per problem and exit with code 2; nothing is
written under results/ for a run that did not start.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from sim.errors import UserError

app = typer.Typer(
    help="Simulate sales reps on a power dialer: what does each voicemail strategy do "
    "to connects per hour?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True)


def user_errors(fn):
    """Turn a UserError into its message on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            from rich.markup import escape  # messages may contain "[set]", "[grid]"

            for line in str(exc).splitlines():
                err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, markup=True,
                          soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper


SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a scenario key: key.path=value (TOML value). Repeatable."),
]


@app.command()
@user_errors
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    replications: Annotated[Optional[int], typer.Option("--replications", "-n", min=1, help="Replications (default: the scenario's experiment.replications).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="Base seed (default: the scenario's experiment.seed).")] = None,
    strategy: Annotated[Optional[list[str]], typer.Option("--strategy", "-s", help="Run only this strategy (repeatable).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Results folder (default: results/<scenario name>).")] = None,
    overrides: SetOption = None,
    calls: Annotated[bool, typer.Option("--calls", help="Also write calls.parquet, one row per dial (streamed).")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Local worker processes (default: cores).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    baseline: Annotated[Optional[str], typer.Option("--baseline", help="Strategy the others are compared with (default: the scenario's experiment.baseline, else the first strategy).")] = None,
    precision: Annotated[Optional[float], typer.Option("--precision", metavar="R", help="Add replications until connects per rep-hour is known to ±R of its mean for every strategy (e.g. 0.02); -n is the first round.")] = None,
    max_replications: Annotated[Optional[int], typer.Option("--max-replications", min=2, metavar="N", help="Cap for --precision (default 200).")] = None,
    by: Annotated[Optional[str], typer.Option("--by", metavar="hour", help="Also print a breakdown: 'hour' = live answers per 100 dials by hour of day (the team's clock).")] = None,
    objective: Annotated[str, typer.Option("--objective", metavar="connects|meetings|value", help="What the verdict ranks: connects per rep-hour (default), meetings per rep-hour, or net value per rep-hour (pipeline value minus cost); the last two need an [economics] section.")] = "connects",
):
    """Simulate every strategy of SCENARIO over N replications and write results."""
    from sim.analysis.compare import resolve_baseline
    from sim.analysis.economics import objective_metric
    from sim.experiment.replications import select_strategies
    from sim.experiment.runs import default_out_dir, execute_run
    from sim.scenario.schema import load_scenario

    sc = load_scenario(scenario, overrides or ())
    names = select_strategies(sc, strategy)
    baseline = resolve_baseline(names, baseline, sc.experiment.baseline)
    objective_metric(objective, sc)  # a bad --objective fails here, before anything runs
    if by is not None and by != "hour":
        raise UserError(f"--by {by!r}: only 'hour' for now (by segment, time zone or rep group "
                        "needs counters the model does not keep yet)")
    _check_precision_options(precision, max_replications, replications)
    reps = replications or sc.experiment.replications
    base_seed = sc.experiment.seed if seed is None else seed
    target = out_dir or default_out_dir(sc)
    n_workers = min(workers, reps) if workers and precision is None else workers

    run_options = dict(out_dir=target, seed=base_seed, replications=reps, strategies=names,
                       workers=n_workers, calls=calls, source=str(scenario), baseline=baseline,
                       precision=precision, max_replications=max_replications,
                       objective=objective)
    if quiet:
        result = execute_run(sc, **run_options)
    else:  # a moving bar on a terminal; a plain line every few seconds when piped (--json too)
        from sim.present.progress import RunProgress

        with RunProgress(err, sc.name, reps) as shown:
            result = execute_run(sc, **run_options, on_done=shown.done, on_plan=shown.plan,
                                 on_progress=shown.partial)

    if as_json:
        print(json.dumps(_summary_json(result, target, objective), indent=2))
    elif not quiet:
        _print_table(result, objective)
        if by == "hour":
            _print_by_hour(result)
        err.print(f"results: {target}  ({len(result.replications)} replications, seed {base_seed}, "
                  f"{result.wall_s:.1f} s)", highlight=False)
    if result.precision is not None and (not result.precision.reached or not (quiet or as_json)):
        from rich.markup import escape

        style = "" if result.precision.reached else "[bold yellow]warning:[/] "
        err.print(style + escape(result.precision.message()), highlight=False, soft_wrap=True)


def _check_precision_options(precision, max_replications, replications) -> None:
    """--precision is a fraction in (0, 1); --max-replications goes with it and above -n."""
    if precision is None:
        if max_replications is not None:
            raise UserError("--max-replications: only used with --precision R")
        return
    if not 0 < precision < 1:
        raise UserError(f"--precision {precision}: must be a fraction between 0 and 1 "
                        "(0.02 = the interval is within ±2% of the mean)")
    if max_replications is not None and replications is not None and replications > max_replications:
        raise UserError(f"--max-replications {max_replications}: below the first round "
                        f"(-n {replications})")


def _summary_json(result, target: Path, objective: str = "connects") -> dict:
    from sim.analysis.compare import comparison_table, decide
    from sim.analysis.economics import ECONOMICS_NAMES, objective_metric, with_economics
    from sim.experiment.replications import headline_metrics

    summary = with_economics(result.summary_table(), result.scenario)
    metrics = headline_metrics() + tuple(m for m in ECONOMICS_NAMES if m in summary.column_names)
    table = comparison_table(summary, result.strategies, result.baseline, metrics)
    strategies = {name: {} for name in result.strategies}
    for row in table.to_pylist():
        strategies[row["strategy"]][row["metric"]] = {
            "mean": _num(row["mean"]), "ci95_low": _num(row["ci95_low"]),
            "ci95_high": _num(row["ci95_high"]),
            "diff_vs_baseline": {"mean": _num(row["diff_mean"]),
                                 "ci95_low": _num(row["diff_ci95_low"]),
                                 "ci95_high": _num(row["diff_ci95_high"]),
                                 "excludes_zero": row["diff_excludes_zero"]},
        }
    metric, words = objective_metric(objective, result.scenario)
    found = decide(summary, result.strategies, result.scenario, result.timeline_table(), metric)
    return {"results": str(target), "scenario": result.scenario.name, "seed": result.seed,
            "replications": len(result.replications), "baseline": result.baseline,
            "objective": metric,
            "best": found.best if found.separated else None,
            "leaders": list(found.leaders), "verdict": found.sentence(words),
            "breaking_constraints": {name: _compliance_json(c) for name, c in found.breaking.items()},
            "precision": result.precision.to_manifest() if result.precision else None,
            "strategies": strategies}


def _compliance_json(compliance) -> list[dict]:
    """The caps a strategy breaks: cap, limit, mean and 95% interval of the capped value."""
    return [{"cap": c.cap, "what": c.label, "limit": c.limit, "mean": _num(c.interval.mean),
             "ci95_low": _num(c.interval.low), "ci95_high": _num(c.interval.high)}
            for c in compliance.broken]


def _num(x: float):
    return None if (x is None or math.isnan(x) or math.isinf(x)) else round(x, 6)


def _fmt_ci(iv, digits=2) -> str:
    if iv.n == 0 or math.isnan(iv.mean):
        return "-"
    if math.isinf(iv.half_width) or math.isnan(iv.half_width):
        return f"{iv.mean:.{digits}f}"
    return f"{iv.mean:.{digits}f} ± {iv.half_width:.{digits}f}"


def _fmt_diff(diff) -> str:
    """A paired difference, green/red when its interval excludes 0, dim when it does not."""
    if diff.n == 0 or math.isnan(diff.mean):
        return "-"
    text = f"{diff.mean:+.2f} ± {diff.half_width:.2f}" if math.isfinite(diff.half_width) \
        else f"{diff.mean:+.2f}"
    if not diff.excludes_zero():
        return f"[dim]{text}[/]"
    return f"[green]{text}[/]" if diff.mean > 0 else f"[red]{text}[/]"


def _print_table(result, objective: str = "connects") -> None:
    from sim.analysis.compare import HEADLINE, decide, paired_differences
    from sim.analysis.economics import objective_metric, with_economics

    summary = with_economics(result.summary_table(), result.scenario)
    metric, words = objective_metric(objective, result.scenario)
    found = decide(summary, result.strategies, result.scenario, result.timeline_table(), metric)
    diffs = paired_differences(summary, result.strategies, result.baseline, HEADLINE)
    table = Table(title=f"{result.scenario.name}: {len(result.replications)} replications, "
                        f"mean ± 95% CI; difference vs {result.baseline} paired (same "
                        "random numbers)", title_justify="left")
    table.add_column("strategy", style="bold", no_wrap=True)
    for header in ("connects/rep-h", f"vs {result.baseline}", "outbound/rep-h", "dials/rep-h",
                   "VMs left", "callbacks", "missed", "abandon", "opt-outs"):
        table.add_column(header, justify="right", no_wrap=True)
    for name in result.strategies:
        iv = functools.partial(result.interval, name)
        abandon = iv("abandon_rate_with_amd")  # as regulators count: AMD hang-ups included
        table.add_row(
            f"[red]{name} ✗[/]" if name in found.breaking else name,
            _fmt_ci(iv("connects_per_rep_hour")),
            "baseline" if name == result.baseline else _fmt_diff(diffs[name]),
            _fmt_ci(iv("outbound_connects_per_rep_hour")),
            _fmt_ci(iv("dials_per_rep_hour"), 1),
            f"{iv('voicemails_left').mean:,.0f}",
            f"{iv('callbacks_received').mean:,.1f}",
            f"{iv('callbacks_missed').mean:,.1f}",
            f"{abandon.mean:.1%}",
            f"{iv('opt_outs').mean:,.1f}",
        )
    out.print(table)
    for name, compliance in found.breaking.items():
        out.print(f"✗ {name} breaks: {compliance.describe()}", highlight=False, markup=False,
                  soft_wrap=True)
    if result.scenario.economics is not None:
        _print_economics(result, summary)
    out.print(f"verdict: {found.sentence(words)}", highlight=False, markup=False, soft_wrap=True)


def _print_by_hour(result) -> None:
    """Live answers per 100 dials by clock hour, one column per strategy; the best hours."""
    from sim.analysis.breakdowns import best_hours, by_hour

    table_data = by_hour(result.timeline_table(), result.strategies)
    rows: dict[int, dict[str, dict]] = {}
    for row in table_data.to_pylist():
        rows.setdefault(row["hour"], {})[row["strategy"]] = row
    table = Table(title="live answers per 100 dials by hour of day (team's clock), mean ± 95% "
                        "CI; dials per day", title_justify="left")
    table.add_column("hour", justify="right", no_wrap=True)
    for name in result.strategies:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column(f"dials/day ({result.baseline})", justify="right", no_wrap=True)
    for hour in sorted(rows):
        cells = rows[hour]
        texts = []
        for name in result.strategies:
            r = cells.get(name)
            if r is None:
                texts.append("-")
            elif math.isfinite(r["answers_per_100_dials_ci95_high"]):
                half = (r["answers_per_100_dials_ci95_high"] - r["answers_per_100_dials_ci95_low"]) / 2
                texts.append(f"{r['answers_per_100_dials']:.1f} ± {half:.1f}")
            else:
                texts.append(f"{r['answers_per_100_dials']:.1f}")
        base = cells.get(result.baseline)
        table.add_row(f"{hour:02d}:00", *texts, f"{base['dials_per_day']:,.0f}" if base else "-")
    out.print(table)
    hours = ", ".join(f"{h:02d}:00" for h in best_hours(table_data, result.baseline))
    out.print(f"best hours to call ({result.baseline}; highest answer rate by the low end of "
              f"its 95% interval): {hours}", highlight=False, soft_wrap=True)


def _money(x: float, unit: str) -> str:
    """'$1,234', '$12.5', '$0.42': money for a narrow column."""
    if not math.isfinite(x):
        return "-"
    return f"{unit}{x:,.0f}" if abs(x) >= 100 else f"{unit}{x:.3g}"


def _print_economics(result, summary) -> None:
    """Meetings, value and cost per strategy (means; the meetings rate with its 95% CI)."""
    from sim.analysis.compare import values_by_strategy
    from sim.analysis.stats import t_interval

    unit = result.scenario.economics.currency
    from rich import box

    table = Table(title=f"meetings (mtgs, expected) and money in {unit}: campaign means over "
                        "replications; net = pipeline - cost", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("strategy", style="bold", no_wrap=True)
    for header in ("mtgs", "mtgs/rep-h", "pipeline", "cost", f"{unit}/connect", f"{unit}/mtg",
                   "net/rep-h"):
        table.add_column(header, justify="right", no_wrap=True)
    columns = ("meetings", "meetings_per_rep_hour", "pipeline_value", "cost_total",
               "cost_per_connect", "cost_per_meeting", "net_value_per_rep_hour")
    values = {c: values_by_strategy(summary, c, result.strategies) for c in columns}
    for name in result.strategies:
        iv = {c: t_interval(values[c][name]) for c in columns}
        table.add_row(name, f"{iv['meetings'].mean:,.1f}", f"{iv['meetings_per_rep_hour'].mean:.3f}",
                      _money(iv["pipeline_value"].mean, unit), _money(iv["cost_total"].mean, unit),
                      _money(iv["cost_per_connect"].mean, unit),
                      _money(iv["cost_per_meeting"].mean, unit),
                      _money(iv["net_value_per_rep_hour"].mean, unit))
    out.print(table)


@app.command()
@user_errors
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    overrides: SetOption = None,
):
    """Check a scenario file and print every parameter, defaults filled in."""
    import tomli_w

    from sim.scenario.schema import load_scenario

    sc = load_scenario(scenario, overrides or ())
    data = _drop_none(sc.resolved())
    out.print(f"# {scenario}: valid (schema_version {sc.schema_version}); "
              "every parameter, defaults filled in", highlight=False)
    sys.stdout.write(tomli_w.dumps(data))


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


@app.command()
@user_errors
def new(
    path: Annotated[Path, typer.Argument(help="Where to write the starter scenario.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
):
    """Write a commented starter scenario that runs as it is."""
    from sim.scenario.templates import write_starter

    write_starter(path, force=force)
    err.print(f"wrote {path}; try: dialsim run {path}", highlight=False)


ResultsDir = Annotated[Path, typer.Argument(metavar="RESULTS_DIR", help="A results folder (from dialsim run; plot also takes a sweep's).")]
BaselineOption = Annotated[Optional[str], typer.Option("--baseline", help="Compare with this strategy (default: the run's baseline).")]


@app.command()
@user_errors
def plot(results_dir: ResultsDir, baseline: BaselineOption = None):
    """Write PNG charts next to the results (a sweep folder gets the sweep's charts)."""
    from sim.present.plots import plot_results

    for path in plot_results(results_dir, baseline):
        out.print(str(path), highlight=False, soft_wrap=True)


@app.command()
@user_errors
def report(results_dir: ResultsDir, baseline: BaselineOption = None):
    """Write report.html: the question, the verdict, the table, charts and assumptions."""
    from sim.present.report import write_report

    path = write_report(results_dir, baseline)
    out.print(str(path), highlight=False, soft_wrap=True)


@app.command()
@user_errors
def sweep(
    sweep_file: Annotated[Path, typer.Argument(metavar="SWEEP.toml", help="Sweep file (see docs/sweeps.md).")],
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Local worker processes (default: cores).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Run on a Dask cluster: tcp://HOST:PORT of its scheduler.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Results folder (default: results/<sweep name>).")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard this folder's earlier sweep results and start over.")] = False,
    overrides: SetOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the points and check them; simulate and write nothing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
):
    """Run every point of a sweep (resumable: finished points are kept and skipped).

    Exit codes: 0 all done, 1 a point failed, 2 bad input, 130/143 stopped.
    """
    from sim.present.sweep_console import sweep_command

    code = sweep_command(sweep_file, workers=workers, scheduler=scheduler, out_dir=out_dir,
                         restart=restart, overrides=overrides or [], dry_run=dry_run, quiet=quiet,
                         out=out, err=err)
    raise typer.Exit(code=code)


def main():  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
