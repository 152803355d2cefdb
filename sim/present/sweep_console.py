"""What ``dialsim sweep`` shows: the progress bar, the per-point table, failures.

The command itself (options, exit codes) is in cli.py; this module keeps its
presentation out of the shared CLI file. Ctrl-C and SIGTERM stop the sweep cleanly:
finished points stay on disk and the same command resumes.
"""

from __future__ import annotations

import math
import signal
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.errors import UserError
from sim.experiment.sweep import (Point, Sweep, SweepOutcome, SweepProgress, check_out_dir, format_value,
                    load_sweep, run_sweep)

MAX_TABLE_ROWS = 60
MAX_FAILURE_LINES = 20


def default_sweep_dir(sweep: Sweep, results_root: Path = Path("results")) -> Path:
    from sim.experiment.runs import _safe_name

    return results_root / _safe_name(sweep.name)


class _Interrupted(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same clean stop runs."""


@contextmanager
def _sigterm_as_interrupt():
    def handler(signum, frame):
        raise _Interrupted()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _RichProgress(SweepProgress):
    """Points done, failures and ETA on stderr; failures printed as they happen."""

    def __init__(self, progress, name: str):
        self.progress = progress
        self.name = name
        self.failed = 0
        self.bar = None

    def start(self, to_run, skipped, invalid):
        self.failed = len(invalid)
        if skipped:
            self.progress.console.print(f"resuming: {skipped} finished points kept, "
                                        f"{to_run} to run", highlight=False, soft_wrap=True)
        self.bar = self.progress.add_task(self.name, total=to_run, failed=self.failed)

    def point_done(self, point: Point, error):
        if error is not None:
            self.failed += 1
            self.progress.console.print(f"[bold red]failed:[/] {_failure_line(point, error)}",
                                        highlight=False, soft_wrap=True)
        self.progress.update(self.bar, advance=1, failed=self.failed)


def _failure_line(point: Point, error: str) -> str:
    """Plain text made safe for rich markup (errors quote user input)."""
    return escape(f"point {point.point_id} ({point.label()}): {error}")


def sweep_command(sweep_file: Path, *, workers: int | None, scheduler: str | None,
                  out_dir: Path | None, restart: bool, overrides: list[str], dry_run: bool,
                  quiet: bool, out: Console, err: Console) -> int:
    """Run (or resume) a sweep; return the exit code (0 ok, 1 a point failed, 130/143 stopped)."""
    if scheduler is not None and workers is not None:
        raise UserError("--workers: only for local runs; a Dask cluster (--scheduler) has its "
                        "own workers")
    if scheduler is not None and "://" not in scheduler:
        raise UserError(f"--scheduler {scheduler}: expected an address like tcp://HOST:PORT")
    sweep = load_sweep(sweep_file, overrides)
    target = out_dir or default_sweep_dir(sweep)
    if dry_run:
        _print_design(sweep, out)
        return 0 if all(p.error is None for p in sweep.points) else 1
    check_out_dir(target, sweep, restart)  # refuse before connecting or starting workers

    from sim.experiment.executors import DaskExecutor, default_workers, local_executor

    if scheduler is not None:
        executor, label = DaskExecutor(scheduler), f"dask {scheduler}"
    else:
        n = workers or default_workers()
        n = max(1, min(n, len(sweep.valid_points) * sweep.replications))
        executor, label = local_executor(n), f"local ({n} workers)"
    try:
        with _sigterm_as_interrupt(), executor:
            outcome = _run_with_progress(sweep, target, executor, restart, label, quiet, err)
    except KeyboardInterrupt as exc:
        sigterm = isinstance(exc, _Interrupted)
        err.print(f"[bold yellow]stopped[/] ({'SIGTERM' if sigterm else 'Ctrl-C'}): finished "
                  f"points are kept in {escape(str(target))}; run the same command again to resume",
                  highlight=False, soft_wrap=True)
        return 143 if sigterm else 130
    if not quiet and outcome.summary is not None and outcome.summary.num_rows:
        print_summary(sweep, outcome, out)
    _print_failures(outcome, err)  # even with --quiet: they change the exit code
    if not quiet:
        earlier = f", {outcome.skipped} from an earlier run" if outcome.skipped else ""
        problems = len(outcome.failed) + len(outcome.invalid)
        err.print(f"results: {escape(str(target))}  ({outcome.done} of {outcome.points} points done{earlier}"
                  f"{f', {problems} failed' if problems else ''}; {outcome.wall_s:.1f} s, "
                  f"{label})", highlight=False, soft_wrap=True)
    return 0 if outcome.ok else 1


def _run_with_progress(sweep, target, executor, restart, label, quiet, err) -> SweepOutcome:
    if quiet:
        return run_sweep(sweep, target, executor, restart=restart, executor_label=label)
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("points"), TextColumn("[red]{task.fields[failed]} failed"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                        console=err, transient=True)
    with progress:
        return run_sweep(sweep, target, executor, restart=restart, executor_label=label,
                         progress=_RichProgress(progress, sweep.name))


def _fmt(mean: float, low: float, high: float, signed: bool = False) -> str:
    if mean is None or math.isnan(mean):
        return "-"
    text = f"{mean:+.2f}" if signed else f"{mean:.2f}"
    if low is None or math.isnan(low):
        return text
    return f"{text} ± {(high - low) / 2:.2f}"


def _points_table(sweep: Sweep, title: str) -> Table:
    """A table whose first columns are the point id and its swept values."""
    table = Table(title=title, title_justify="left")
    table.add_column("point", justify="right")
    for param in sweep.parameters:
        table.add_column(escape(param.key), justify="right")
    return table


def _point_cells(sweep: Sweep, point_id: int, values: dict) -> list[str]:
    return [str(point_id), *[escape(format_value(values[p.key])) for p in sweep.parameters]]


def print_summary(sweep: Sweep, outcome: SweepOutcome, out: Console) -> None:
    """One row per finished point: parameters, each strategy's connects/rep-h, the winner."""
    rows = outcome.summary.to_pylist()
    by_point: dict[int, dict[str, dict]] = {}
    for row in rows:
        by_point.setdefault(row["point_id"], {})[row["strategy"]] = row
    table = _points_table(sweep, f"{sweep.name}: connects per rep-hour, mean ± 95% CI over "
                                 f"{sweep.replications} replications; margin = winner minus "
                                 "runner-up, paired")
    for name in sweep.strategies:
        table.add_column(escape(name), justify="right", no_wrap=True)
    table.add_column("winner", style="bold")
    table.add_column("margin", justify="right", no_wrap=True)
    values = {p.point_id: p.values for p in sweep.points}
    for point_id in sorted(by_point)[:MAX_TABLE_ROWS]:
        cells = by_point[point_id]
        first = next(iter(cells.values()))
        margin = _fmt(first["margin_mean"], first["margin_ci95_low"], first["margin_ci95_high"],
                      signed=True)
        if first["runner_up"] is not None and not first["margin_clear"]:
            margin = f"[dim]{margin} (tie?)[/]"
        table.add_row(
            *_point_cells(sweep, point_id, values[point_id]),
            *[_fmt(cells[s]["connects_per_rep_hour_mean"], cells[s]["connects_per_rep_hour_ci95_low"],
                   cells[s]["connects_per_rep_hour_ci95_high"])
              + ("" if cells[s]["complies"] else " [red]✗[/]") for s in sweep.strategies],
            escape(first["winner"]) if first["winner"] is not None else "[red]none complies[/]",
            margin,
        )
    out.print(table)
    if not all(row["complies"] for row in rows):
        out.print("✗ breaks a [constraints] cap (judged by the high end of its 95% interval; "
                  "left out of the race): see broken_caps in "
                  f"{outcome.out_dir / 'sweep_summary.parquet'}", highlight=False, markup=False,
                  soft_wrap=True)
    if len(by_point) > MAX_TABLE_ROWS:
        out.print(f"... and {len(by_point) - MAX_TABLE_ROWS} more points in "
                  f"{outcome.out_dir / 'sweep_summary.parquet'}", highlight=False)


def _print_failures(outcome: SweepOutcome, err: Console) -> None:
    lines = [f"invalid: {_failure_line(p, p.error)}" for p in outcome.invalid]
    lines += [f"failed: {_failure_line(p, e)}" for p, e in outcome.failed]
    for line in lines[:MAX_FAILURE_LINES]:
        err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
    if len(lines) > MAX_FAILURE_LINES:
        err.print(f"... and {len(lines) - MAX_FAILURE_LINES} more: see points.parquet "
                  "(status, error)", highlight=False)


def _print_design(sweep: Sweep, out: Console) -> None:
    table = _points_table(sweep, f"{sweep.name}: {len(sweep.points)} points x "
                                 f"{sweep.replications} replications x {len(sweep.strategies)} "
                                 "strategies (dry run: nothing is simulated or written)")
    table.add_column("check")
    for point in sweep.points[:MAX_TABLE_ROWS]:
        table.add_row(*_point_cells(sweep, point.point_id, point.values),
                      "ok" if point.error is None else f"[red]invalid: {escape(point.error)}[/]")
    out.print(table)
    if len(sweep.points) > MAX_TABLE_ROWS:
        out.print(f"... and {len(sweep.points) - MAX_TABLE_ROWS} more points", highlight=False)
    if sweep.duplicates_dropped:
        out.print(f"{sweep.duplicates_dropped} repeated combinations dropped", highlight=False)
