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
            for line in str(exc).splitlines():
                err.print(f"[bold red]error:[/] {line}", highlight=False, markup=True,
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
):
    """Simulate every strategy of SCENARIO over N replications and write results."""
    from sim.experiment import select_strategies
    from sim.runs import default_out_dir, execute_run
    from sim.scenario import load_scenario

    sc = load_scenario(scenario, overrides or ())
    names = select_strategies(sc, strategy)
    reps = replications or sc.experiment.replications
    base_seed = sc.experiment.seed if seed is None else seed
    target = out_dir or default_out_dir(sc)
    n_workers = min(workers, reps) if workers else None

    show_progress = not quiet and not as_json
    if show_progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("replications"), TimeRemainingColumn(), console=err,
                            transient=True)
        with progress:
            bar = progress.add_task(f"{sc.name}", total=reps)
            result = execute_run(sc, out_dir=target, seed=base_seed, replications=reps,
                                 strategies=names, workers=n_workers, calls=calls,
                                 source=str(scenario),
                                 on_done=lambda _r: progress.advance(bar))
    else:
        result = execute_run(sc, out_dir=target, seed=base_seed, replications=reps,
                             strategies=names, workers=n_workers, calls=calls,
                             source=str(scenario))

    if as_json:
        print(json.dumps(_summary_json(result, target), indent=2))
    elif not quiet:
        _print_table(result)
        err.print(f"results: {target}  ({reps} replications, seed {base_seed}, "
                  f"{result.wall_s:.1f} s)", highlight=False)


def _summary_json(result, target: Path) -> dict:
    from sim.experiment import headline_metrics

    strategies = {}
    for name in result.strategies:
        strategies[name] = {}
        for metric in headline_metrics():
            iv = result.interval(name, metric)
            strategies[name][metric] = {"mean": _num(iv.mean), "ci95_low": _num(iv.low),
                                        "ci95_high": _num(iv.high)}
    return {"results": str(target), "scenario": result.scenario.name, "seed": result.seed,
            "replications": len(result.replications), "strategies": strategies}


def _num(x: float):
    return None if (x is None or math.isnan(x) or math.isinf(x)) else round(x, 6)


def _fmt_ci(iv, digits=2) -> str:
    if iv.n == 0 or math.isnan(iv.mean):
        return "-"
    if math.isinf(iv.half_width) or math.isnan(iv.half_width):
        return f"{iv.mean:.{digits}f}"
    return f"{iv.mean:.{digits}f} ± {iv.half_width:.{digits}f}"


def _print_table(result) -> None:
    table = Table(title=f"{result.scenario.name}: {len(result.replications)} replications, "
                        f"mean ± 95% CI", title_justify="left")
    table.add_column("strategy", style="bold", no_wrap=True)
    for header in ("connects/rep-h", "outbound/rep-h", "dials/rep-h", "VMs left",
                   "callbacks", "missed", "abandon", "opt-outs"):
        table.add_column(header, justify="right", no_wrap=True)
    for name in result.strategies:
        iv = functools.partial(result.interval, name)
        abandon = iv("abandon_rate")
        table.add_row(
            name,
            _fmt_ci(iv("connects_per_rep_hour")),
            _fmt_ci(iv("outbound_connects_per_rep_hour")),
            _fmt_ci(iv("dials_per_rep_hour"), 1),
            f"{iv('voicemails_left').mean:,.0f}",
            f"{iv('callbacks_received').mean:,.1f}",
            f"{iv('callbacks_missed').mean:,.1f}",
            f"{abandon.mean:.1%}",
            f"{iv('opt_outs').mean:,.1f}",
        )
    out.print(table)


@app.command()
@user_errors
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    overrides: SetOption = None,
):
    """Check a scenario file and print every parameter, defaults filled in."""
    import tomli_w

    from sim.scenario import load_scenario

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
    from sim.templates import write_starter

    write_starter(path, force=force)
    err.print(f"wrote {path}; try: dialsim run {path}", highlight=False)


def main():  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
