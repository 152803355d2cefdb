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

from sim.errors import UserError

def _flags_without_placeholder(params):
    """On/off options (typer's own --help and completion ones too) show no '<bool>'."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Group(typer.core.TyperGroup):
    def get_params(self, ctx):
        return _flags_without_placeholder(super().get_params(ctx))


class _Command(typer.core.TyperCommand):
    def get_params(self, ctx):
        return _flags_without_placeholder(super().get_params(ctx))


app = typer.Typer(
    cls=_Group,
    help="Simulate sales reps on a power dialer: what does each voicemail strategy do "
    "to connects per hour?",
    epilog="Start with: dialsim run scenarios/baseline.toml  (dialsim COMMAND -h: options "
    "and examples)",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)
out = Console(width=None if sys.stdout.isatty() else 80)
err = Console(stderr=True)

# Examples shown at the end of each command's help (tests/test_cli_help.py runs every one).
EXAMPLES = {
    "run": ("dialsim run scenarios/baseline.toml",
            "dialsim run scenarios/baseline.toml -n 50 --seed 7 -s never -s rotate",
            "dialsim run scenarios/baseline.toml --set team.reps=10 --out results/ten_reps"),
    "validate": ("dialsim validate scenarios/baseline.toml --set team.reps=10",),
    "new": ("dialsim new my_team.toml",),
    "plot": ("dialsim plot results/baseline",),
    "report": ("dialsim report results/baseline",),
    "fit": ("dialsim fit examples/sample_calls.csv -o team.toml",),
    "calibrate": ("dialsim calibrate scenarios/baseline.toml --observe conversation_rate=0.04 "
                  "--under always -o calibrated.toml",),
    "sensitivity": ("dialsim sensitivity scenarios/baseline.toml --vary "
                    "callbacks.p_callback=0.001:0.05 --vary "
                    "screening.answer_mult_per_silent_miss=0.5:1 -n 2 --size 4",),
    "map": ("dialsim map scenarios/baseline.toml --x screening.answer_mult_per_silent_miss=0.5:1 "
            "--y callbacks.p_callback=0.001:0.1:log --grid 3 --depth 1 -n 2",),
    "optimise": ("dialsim optimise scenarios/baseline.toml --space "
                 "examples/space_voicemail_policies.toml --max-abandon 0.03",),
    "sweep": ("dialsim sweep scenarios/sweep_callback_vs_screening.toml --dry-run",
              "dialsim sweep scenarios/sweep_callback_vs_screening.toml --workers 2",
              "dialsim report results/callback_vs_screening"),
}


def _examples(command: str) -> str:
    """The help epilog: one example per line."""
    return "\n".join(["Examples:", *(f"  $ {line}" for line in EXAMPLES[command])])


def _print_version(value: bool) -> None:
    if value:
        import sim

        print(f"dialsim {sim.__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          metavar="", help="Print the version and exit.")] = False,
):
    """Simulate sales reps on a power dialer: what does each voicemail strategy do to connects per hour?"""


def user_errors(fn):
    """Turn a UserError into its message on stderr and exit code 2; a stop into one line.

    While the command runs, Ctrl-C raises KeyboardInterrupt and SIGTERM raises
    ``Terminated``, so every ``with`` on the way out runs (workers stopped, staging
    folders removed); then one line and exit code 130 or 143, never a traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = _raise_on_stop_signals()
        try:
            return fn(*args, **kwargs)
        except KeyboardInterrupt as exc:
            from sim.errors import stop_exit_code

            code = stop_exit_code(exc)
            err.print(f"stopped ({'SIGTERM' if code == 143 else 'Ctrl-C'}): nothing half-written "
                      "was left; run the command again", highlight=False, markup=False,
                      soft_wrap=True)
            raise typer.Exit(code=code) from None
        except UserError as exc:
            from rich.markup import escape  # messages may contain "[set]", "[grid]"

            for line in str(exc).splitlines():
                err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, markup=True,
                          soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None
        finally:
            _restore_signals(previous)

    return wrapper


def _raise_on_stop_signals() -> dict:
    """SIGINT -> KeyboardInterrupt, SIGTERM -> Terminated; returns the handlers replaced."""
    import signal

    from sim.errors import Terminated

    def terminated(_signum, _frame):
        raise Terminated()

    try:
        return {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
                signal.SIGTERM: signal.signal(signal.SIGTERM, terminated)}
    except ValueError:  # not the main thread (a test harness): leave signals alone
        return {}


def _restore_signals(previous: dict) -> None:
    import signal

    for signum, handler in previous.items():
        signal.signal(signum, handler)


SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", metavar="KEY=VALUE",
                 help="Override a scenario key: key.path=value (TOML value). Repeatable."),
]
FLAG = ""  # metavar of an on/off option: nothing to type after it


ScenarioArgument = Annotated[Path, typer.Argument(metavar="SCENARIO.toml", help="Scenario file (the .toml suffix may be left off).")]


@app.command(cls=_Command, epilog=_examples("run"))
@user_errors
def run(
    scenario: ScenarioArgument,
    replications: Annotated[Optional[int], typer.Option("--replications", "-n", metavar="N", help="Replications (default: the scenario's experiment.replications).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", metavar="SEED", help="Base seed (default: the scenario's experiment.seed).")] = None,
    strategy: Annotated[Optional[list[str]], typer.Option("--strategy", "-s", metavar="NAME", help="Run only this strategy (repeatable).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Results folder (default: results/<scenario name>).")] = None,
    overrides: SetOption = None,
    calls: Annotated[bool, typer.Option("--calls", metavar=FLAG, help="Also write calls.parquet, one row per dial (streamed).")] = False,
    workers: Annotated[Optional[int], typer.Option("--workers", metavar="N", help="Local worker processes (default: cores; at most 4 per core).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar=FLAG, help="No progress bar and no table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print the summary as JSON on stdout.")] = False,
    wide: Annotated[bool, typer.Option("--wide", metavar=FLAG, help="One wide table with every column (default: two tables that fit 80 columns).")] = False,
    baseline: Annotated[Optional[str], typer.Option("--baseline", metavar="NAME", help="Strategy the others are compared with (default: the scenario's experiment.baseline, else the first strategy).")] = None,
    precision: Annotated[Optional[float], typer.Option("--precision", metavar="R", help="Add replications until connects per rep-hour is known to ±R of its mean for every strategy (e.g. 0.02); -n is the first round.")] = None,
    max_replications: Annotated[Optional[int], typer.Option("--max-replications", metavar="N", help="Cap for --precision (default 200, at most 100,000).")] = None,
    by: Annotated[Optional[list[str]], typer.Option("--by", metavar="hour|local_hour|segment|time_zone|group", help="Also print a breakdown (repeat for several): 'hour' = live answers per 100 dials by hour of day (the team's clock); 'local_hour' = conversations per 100 dials by the prospect's local hour in each time zone (the best hours to call there); 'segment' or 'time_zone' = conversations per 100 dials by list segment or prospect time zone; 'group' = dials, connects, paid hours and connects per rep-hour by rep group (all in breakdown.parquet).")] = None,
    objective: Annotated[str, typer.Option("--objective", metavar="connects|meetings|value", help="What the verdict ranks: connects per rep-hour (default), meetings per rep-hour, or net value per rep-hour (pipeline value minus cost); the last two need an [economics] section.")] = "connects",
):
    """Simulate every strategy of SCENARIO over N replications and write results.

    Exit codes: 0 done, 2 bad input (nothing written), 130/143 stopped (Ctrl-C/SIGTERM).
    """
    from sim.analysis.compare import resolve_baseline
    from sim.experiment.preflight import check_counts
    from sim.analysis.economics import objective_metric
    from sim.experiment.replications import select_strategies
    from sim.experiment.runs import default_out_dir, execute_run
    from sim.scenario.schema import load_scenario, resolve_toml_path

    scenario = resolve_toml_path(scenario)
    check_counts(replications, workers, max_replications)
    if seed is not None and not 0 <= seed <= 2**63 - 1:
        raise UserError(f"--seed {seed}: must be from 0 to 2**63 - 1")
    sc = load_scenario(scenario, overrides or ())
    names = select_strategies(sc, strategy)
    baseline = resolve_baseline(names, baseline, sc.experiment.baseline)
    objective_metric(objective, sc)  # a bad --objective fails here, before anything runs
    from sim.present.run_console import BREAKDOWNS

    for name in by or ():
        if name not in BREAKDOWNS:
            raise UserError(f"--by {name!r}: choose {', '.join(BREAKDOWNS)}")
    _check_precision_options(precision, max_replications, replications)
    reps = replications or sc.experiment.replications
    base_seed = sc.experiment.seed if seed is None else seed
    target = out_dir or default_out_dir(sc)
    n_workers = workers  # execute_run caps it at the replications it may run

    def replaced(path: Path) -> None:
        if not quiet:
            err.print(f"replaced the earlier run in {path}", highlight=False, markup=False,
                      soft_wrap=True)

    run_options = dict(out_dir=target, seed=base_seed, replications=reps, strategies=names,
                       workers=n_workers, calls=calls, source=str(scenario), baseline=baseline,
                       precision=precision, max_replications=max_replications,
                       on_replace=replaced, objective=objective)
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
        from sim.present.run_console import print_breakdown_by, print_observables, print_run_tables

        print_run_tables(result, out, wide=wide, objective=objective)
        print_observables(result, out)
        for name in dict.fromkeys(by or ()):
            print_breakdown_by(result, out, name)
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

    summary = with_economics(result.summary_table(), result.scenario, result.breakdown_table())
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


@app.command(cls=_Command, epilog=_examples("validate"))
@user_errors
def validate(
    scenario: ScenarioArgument,
    overrides: SetOption = None,
):
    """Check a scenario file and print every parameter, defaults filled in."""
    import tomli_w

    from sim.scenario.schema import load_scenario, resolve_toml_path, toml_data

    scenario = resolve_toml_path(scenario)
    sc = load_scenario(scenario, overrides or ())
    data = toml_data(sc.resolved())
    out.print(f"# {scenario}: valid (schema_version {sc.schema_version}); "
              "every parameter, defaults filled in", highlight=False, soft_wrap=True)
    sys.stdout.write(tomli_w.dumps(data))



@app.command(cls=_Command, epilog=_examples("new"))
@user_errors
def new(
    path: Annotated[Path, typer.Argument(metavar="FILE.toml", help="Where to write the starter scenario.")],
    force: Annotated[bool, typer.Option("--force", metavar=FLAG, help="Overwrite an existing file.")] = False,
):
    """Write a commented starter scenario that runs as it is."""
    from sim.scenario.templates import check_starter_path, starter_text
    from sim.store.atomic import write_text_atomic

    check_starter_path(path, force=force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot create {path.parent}: {exc.strerror or exc}") from None
    write_text_atomic(starter_text(), path)
    err.print(f"wrote {path}; try: dialsim run {path}", highlight=False)


ResultsDir = Annotated[Path, typer.Argument(metavar="RESULTS_DIR", help="A results folder, from dialsim run or dialsim sweep.")]
BaselineOption = Annotated[Optional[str], typer.Option("--baseline", metavar="NAME", help="Compare with this strategy (default: the run's baseline).")]


@app.command(cls=_Command, epilog=_examples("plot"))
@user_errors
def plot(results_dir: ResultsDir, baseline: BaselineOption = None):
    """Write PNG charts next to the results (a sweep folder gets the sweep's charts)."""
    from sim.present.plots import plot_results

    for path in plot_results(results_dir, baseline):
        out.print(str(path), highlight=False, soft_wrap=True)


@app.command(cls=_Command, epilog=_examples("report"))
@user_errors
def report(results_dir: ResultsDir, baseline: BaselineOption = None):
    """Write report.html: the question, the verdict, the table, charts and assumptions.

    A sweep folder gets sweep_report.html: where each strategy wins, and by how much.
    """
    from sim.store.results import read_manifest

    if read_manifest(results_dir).get("kind") == "sweep":
        from sim.present.sweep_report import write_sweep_report

        if baseline is not None:
            raise UserError("--baseline: applies to a run folder, not a sweep")
        path = write_sweep_report(results_dir)
    else:
        from sim.present.report import write_report

        path = write_report(results_dir, baseline)
    out.print(str(path), highlight=False, soft_wrap=True)


@app.command(cls=_Command, epilog=_examples("sweep"))
@user_errors
def sweep(
    sweep_file: Annotated[Path, typer.Argument(metavar="SWEEP.toml", help="Sweep file (see docs/sweeps.md; the .toml suffix may be left off).")],
    workers: Annotated[Optional[int], typer.Option("--workers", metavar="N", help="Local worker processes (default: cores; at most 4 per core).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", metavar="URL", help="Run on a Dask cluster: tcp://HOST:PORT of its scheduler.")] = None,
    connect_timeout: Annotated[Optional[float], typer.Option("--connect-timeout", metavar="SECONDS", help="With --scheduler: give up if no scheduler answers within this (default 15).")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Results folder (default: results/<sweep name>).")] = None,
    restart: Annotated[bool, typer.Option("--restart", metavar=FLAG, help="Discard this folder's earlier sweep results and start over.")] = False,
    overrides: SetOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", metavar=FLAG, help="List the points and check them; simulate and write nothing.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar=FLAG, help="No progress bar and no table.")] = False,
    as_json: Annotated[bool, typer.Option("--json", metavar=FLAG, help="Print each point's result as JSON on stdout (no progress bar, no table).")] = False,
    wide: Annotated[bool, typer.Option("--wide", metavar=FLAG, help="Every strategy's connects per rep-hour in the table (default: winner and margin, to fit 80 columns).")] = False,
):
    """Run every point of a sweep (resumable: finished points are kept and skipped).

    Exit codes: 0 all done, 1 a point failed, 2 bad input, 130/143 stopped.
    """
    from sim.present.sweep_console import sweep_command
    from sim.scenario.schema import resolve_toml_path

    code = sweep_command(resolve_toml_path(sweep_file, "sweep"), workers=workers,
                         scheduler=scheduler, out_dir=out_dir, restart=restart,
                         overrides=overrides or [], dry_run=dry_run, quiet=quiet,
                         as_json=as_json, wide=wide, out=out, err=err,
                         connect_timeout_s=connect_timeout)
    raise typer.Exit(code=code)


@app.command(cls=_Command, epilog=_examples("fit"))
@user_errors
def fit(
    call_log: Annotated[Path, typer.Argument(metavar="CALL_LOG", help="Call log: CSV or Parquet (docs/calibration.md), or dialsim's calls.parquet.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE.toml", help="Scenario file to write (TOML).")],
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="auto, generic, dialsim, vicidial or hubspot.")] = "auto",
    mapping: Annotated[Optional[Path], typer.Option("--mapping", metavar="FILE.toml", help="TOML file extending a VICIdial/HubSpot status table (docs/calibration.md).")] = None,
    time_zone: Annotated[Optional[str], typer.Option("--time-zone", metavar="OFFSET", help="HubSpot-style exports: UTC offset of times written without one, e.g. -05:00.")] = None,
    strategy: Annotated[Optional[str], typer.Option("--strategy", "-s", metavar="NAME", help="dialsim calls.parquet: the strategy to read.")] = None,
    name: Annotated[Optional[str], typer.Option("--name", metavar="NAME", help="Scenario name (default: the output file's stem).")] = None,
    force: Annotated[bool, typer.Option("--force", metavar=FLAG, help="Replace an existing output file.")] = False,
    report: Annotated[bool, typer.Option("--report/--no-report", metavar=FLAG, help="Also write OUTPUT-fit.html and OUTPUT-fit.png: the log beside a simulation of the fitted scenario.")] = True,
):
    """Estimate a scenario from a team's call log; each value with its 95% interval."""
    from sim.calibration.pipeline import fit_log, load_log
    from sim.calibration.write import write_text_atomic
    from sim.present.fit_console import fit_lines

    if output.exists() and not force:
        raise UserError(f"-o {output}: the file exists; choose another name or add --force to replace it")
    page = output.with_name(f"{output.stem}-fit.html")
    chart = output.with_name(f"{output.stem}-fit.png")
    if report and not force:
        for path in (page, chart):
            if path.exists():
                raise UserError(f"{path}: the file exists; add --force to replace it, or --no-report")
    loaded = load_log(call_log, fmt, strategy, mapping, time_zone)
    outcome = fit_log(loaded, name or output.stem, str(call_log))
    write_text_atomic(outcome.toml, output, force=force)
    for line in fit_lines(outcome, str(output)):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if report:
        from sim.experiment.fitcheck import simulate_fitted
        from sim.present.fit_report import render_chart, render_fit_report

        simulated = simulate_fitted(outcome)
        png = render_chart(loaded.log, simulated, f"{call_log.name}: the log and the fitted scenario")
        write_text_atomic(render_fit_report(outcome, simulated, call_log.name, output.name, png)
                          .replace("\r", ""), page, force=True)
        from sim.present.plots import write_bytes_atomic

        write_bytes_atomic(png, chart)
        out.print(f"report: {page} (chart: {chart.name})", highlight=False, soft_wrap=True)
    err.print(f"next: dialsim run {output}", highlight=False)


@app.command(cls=_Command, epilog=_examples("calibrate"))
@user_errors
def calibrate(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO.toml", help="Scenario TOML file to start from.")],
    observe: Annotated[list[str], typer.Option("--observe", metavar="NAME=VALUE", help="A dashboard rate: name=value, e.g. conversation_rate=0.04 (repeatable).")],
    under: Annotated[str, typer.Option("--under", metavar="NAME", help="The strategy the team used while measuring.")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE.toml", help="Calibrated scenario file to write.")],
    free: Annotated[Optional[list[str]], typer.Option("--free", metavar="KEY", help="The key each target may move, in --observe order (default: docs/calibration.md).")] = None,
    replications: Annotated[int, typer.Option("--replications", "-n", min=2, metavar="N", help="Replications per trial run.")] = 4,
    seed: Annotated[int, typer.Option("--seed", min=0, metavar="SEED", help="Seed of every trial run (common random numbers).")] = 1,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, metavar="N", help="Local worker processes.")] = 1,
    overrides: SetOption = None,
    force: Annotated[bool, typer.Option("--force", metavar=FLAG, help="Replace an existing output file.")] = False,
):
    """Adjust free parameters until the simulated rates match dashboard numbers."""
    from sim.calibration.write import write_text_atomic
    from sim.experiment.calibrate import calibrate as run_calibration
    from sim.experiment.calibrate import calibrated_toml, parse_targets
    from sim.present.calibrate_console import calibrate_lines
    from sim.scenario.schema import read_scenario_file, with_overrides

    if output.exists() and not force:
        raise UserError(f"-o {output}: the file exists; choose another name or add --force to replace it")
    targets = parse_targets(observe, free)
    data = read_scenario_file(scenario)
    if overrides:
        data = with_overrides(data, overrides, str(scenario))
    result = run_calibration(data, targets, under, replications=replications, seed=seed,
                             workers=workers)
    write_text_atomic(calibrated_toml(result, scenario.name), output, force=force)
    for line in calibrate_lines(result, str(output)):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if not result.all_met:
        raise typer.Exit(code=1)  # written, but not every target was met (said above)


VaryOption = Annotated[list[str], typer.Option("--vary", metavar="KEY=LOW:HIGH", help="A belief to vary over a range (repeatable); KEY=LOW:HIGH:log for a log scale.")]
WorkersOption = Annotated[Optional[int], typer.Option("--workers", min=1, metavar="N", help="Local worker processes (default: cores).")]
SchedulerOption = Annotated[Optional[str], typer.Option("--scheduler", metavar="URL", help="Run on a Dask cluster: tcp://HOST:PORT of its scheduler.")]
RestartOption = Annotated[bool, typer.Option("--restart", metavar=FLAG, help="Discard this folder's earlier results of the same kind and start over.")]


@app.command(cls=_Command, epilog=_examples("sensitivity"))
@user_errors
def sensitivity(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO.toml", help="Scenario TOML file.")],
    vary: VaryOption,
    method: Annotated[str, typer.Option("--method", metavar="NAME", help="morris (screening, cheap) or sobol (variance shares).")] = "morris",
    size: Annotated[Optional[int], typer.Option("--size", metavar="N", help="Morris trajectories (default 10) or Sobol base samples, a power of two (default 64).")] = None,
    replications: Annotated[Optional[int], typer.Option("--replications", "-n", metavar="N", min=1, help="Replications per point (default: the scenario's).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", metavar="N", min=0, help="Simulation seed, shared by every point (default: the scenario's).")] = None,
    design_seed: Annotated[int, typer.Option("--design-seed", metavar="N", min=0, help="Seed of the design and the bootstrap.")] = 0,
    strategy: Annotated[Optional[list[str]], typer.Option("--strategy", "-s", metavar="NAME", help="Only this strategy (repeatable).")] = None,
    metric: Annotated[str, typer.Option("--objective", metavar="METRIC", help="The metric analysed (a summary.parquet column).")] = "connects_per_rep_hour",
    overrides: SetOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Results folder (default: results/<scenario>-sensitivity-<method>).")] = None,
    restart: RestartOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar=FLAG, help="No progress bar and no table.")] = False,
):
    """Which uncertain belief decides each strategy's headline and the verdict (SALib).

    Resumable: finished points are kept; the same command picks up where it stopped.
    Exit codes: 0 done, 1 a point failed, 2 bad input, 130/143 stopped.
    """
    _allow_pandas()  # SALib imports pandas
    from sim.present.design_console import sensitivity_command

    code = sensitivity_command(scenario, vary=vary, method=method, size=size,
                               overrides=overrides or [], strategies=strategy,
                               replications=replications, seed=seed, design_seed=design_seed,
                               metric=metric, workers=workers, scheduler=scheduler,
                               out_dir=out_dir, restart=restart, quiet=quiet, out=out, err=err)
    raise typer.Exit(code=code)


ObjectiveOption = Annotated[str, typer.Option("--objective", metavar="METRIC", help="Metric to maximise (a summary.parquet column).")]
MaxAbandonOption = Annotated[Optional[float], typer.Option("--max-abandon", metavar="R", help="Constraint: the high end of the 95% interval of a strategy's abandon rate (AMD hang-ups counted) must be at most R (e.g. 0.03).")]


@app.command(name="map", cls=_Command, epilog=_examples("map"))
@user_errors
def decision_map(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO.toml", help="Scenario TOML file.")],
    x: Annotated[str, typer.Option("--x", metavar="KEY=LOW:HIGH", help="Belief on the horizontal axis (KEY=LOW:HIGH:log for a log scale).")],
    y: Annotated[str, typer.Option("--y", metavar="KEY=LOW:HIGH", help="Belief on the vertical axis.")],
    grid: Annotated[int, typer.Option("--grid", metavar="N", help="Coarse grid points per axis.")] = 5,
    depth: Annotated[int, typer.Option("--depth", metavar="N", help="Refinements of cells whose corners disagree.")] = 2,
    replications: Annotated[Optional[int], typer.Option("--replications", "-n", metavar="N", min=1, help="Replications per point (default: the scenario's).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", metavar="N", min=0, help="Simulation seed, shared by every point.")] = None,
    strategy: Annotated[Optional[list[str]], typer.Option("--strategy", "-s", metavar="NAME", help="Only this strategy (repeatable).")] = None,
    objective: ObjectiveOption = "connects_per_rep_hour",
    max_abandon: MaxAbandonOption = None,
    mark: Annotated[Optional[list[Path]], typer.Option("--mark", metavar="SCENARIO", help="Also place this scenario's beliefs on the map (repeatable).")] = None,
    overrides: SetOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Results folder (default: results/<scenario>-map).")] = None,
    restart: RestartOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar=FLAG, help="No progress bar and no summary.")] = False,
):
    """The best strategy over the plane of two beliefs, refined near the boundaries.

    Exit codes: 0 done, 1 a point failed, 2 bad input, 130/143 stopped (resumable).
    """
    from sim.analysis.objective import Objective, max_abandon as abandon_cap
    from sim.present.design_console import map_command

    goal = Objective(objective, tuple(abandon_cap(max_abandon)))
    code = map_command(scenario, x=x, y=y, grid=grid, depth=depth, overrides=overrides or [],
                       strategies=strategy, replications=replications, seed=seed,
                       objective=goal, marks=mark or [], workers=workers, scheduler=scheduler,
                       out_dir=out_dir, restart=restart, quiet=quiet, out=out, err=err)
    raise typer.Exit(code=code)


@app.command(cls=_Command, epilog=_examples("optimise"))
@user_errors
def optimise(
    scenario: Annotated[Path, typer.Argument(metavar="SCENARIO.toml", help="Scenario TOML file.")],
    space: Annotated[Path, typer.Option("--space", metavar="SPACE.toml", help="What to search: policies and a grid of keys (docs/optimise.md).")],
    seed: Annotated[Optional[int], typer.Option("--seed", metavar="N", min=0, help="Simulation seed, shared by every candidate.")] = None,
    objective: ObjectiveOption = "connects_per_rep_hour",
    max_abandon: MaxAbandonOption = None,
    overrides: SetOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Results folder (default: results/<scenario>-optimise).")] = None,
    restart: RestartOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", metavar=FLAG, help="No progress bar.")] = False,
):
    """Search voicemail policies and cadence for the best objective under the constraints.

    Writes best_policy.toml, ready for dialsim run. Exit codes: 0 done, 1 a candidate
    failed or none meets the constraints, 2 bad input, 130/143 stopped (resumable).
    """
    from sim.analysis.objective import Objective, max_abandon as abandon_cap
    from sim.present.design_console import optimise_command

    goal = Objective(objective, tuple(abandon_cap(max_abandon)))
    code = optimise_command(scenario, space=space, overrides=overrides or [], seed=seed,
                            objective=goal, workers=workers, scheduler=scheduler,
                            out_dir=out_dir, restart=restart, quiet=quiet, out=out, err=err)
    raise typer.Exit(code=code)


class _WithoutPandas:
    """An import hook under which ``import pandas`` fails as if pandas were not installed.

    pyarrow imports pandas (~0.3 s) the first time it converts any list, only to ask
    whether it was handed a DataFrame; dialsim never hands it one, and pyarrow works
    the same without pandas. The installed command uses this hook; tests and library
    users, who may want pandas, never see it.
    """

    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            raise ModuleNotFoundError("the dialsim command runs without pandas", name=name)
        return None


def _allow_pandas() -> None:
    """For the commands whose libraries need pandas (SALib): lift the hook."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _WithoutPandas)]


def main():  # pragma: no cover - the installed `dialsim` command (tests/test_startup.py)
    """The ``dialsim`` command (after dialsim_entry's signal handlers): the app, without
    pandas' import time."""
    if "pandas" not in sys.modules:
        sys.meta_path.insert(0, _WithoutPandas())
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
