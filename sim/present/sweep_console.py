"""What ``dialsim sweep`` shows: the progress bar, the per-point table, failures.

The command itself (options, exit codes) is in cli.py; this module keeps its
presentation out of the shared CLI file. Ctrl-C and SIGTERM stop the sweep cleanly:
finished points stay on disk and the same command resumes.
"""

from __future__ import annotations

import json
import math
import signal
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.analysis.formatting import plus_minus_range
from sim.errors import Terminated, UserError
from sim.experiment.sweep import (Point, is_tie, Sweep, SweepOutcome, SweepProgress, check_out_dir, format_value,
                    load_sweep, run_sweep)

MAX_TABLE_ROWS = 60
MAX_FAILURE_LINES = 20


def default_sweep_dir(sweep: Sweep, results_root: Path = Path("results")) -> Path:
    from sim.experiment.runs import _safe_name

    return results_root / _safe_name(sweep.name)


_Interrupted = Terminated  # SIGTERM, raised like Ctrl-C so the same clean stop runs


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
                  quiet: bool, out: Console, err: Console, as_json: bool = False,
                  wide: bool = False, connect_timeout_s: float | None = None) -> int:
    """Run (or resume) a sweep; return the exit code (0 ok, 1 a point failed, 130/143 stopped).

    ``as_json`` prints each point's result on stdout instead of the table (and no
    progress bar); ``wide`` adds every strategy's connects per rep-hour to the table.
    """
    quiet = quiet or as_json
    if scheduler is not None and workers is not None:
        raise UserError("--workers: only for local runs; a Dask cluster (--scheduler) has its "
                        "own workers")
    from sim.experiment.executors import DEFAULT_CONNECT_TIMEOUT_S, check_scheduler_address

    if connect_timeout_s is not None:
        if scheduler is None:
            raise UserError("--connect-timeout: only used with --scheduler")
        if not 1 <= connect_timeout_s <= 600:
            raise UserError(f"--connect-timeout {connect_timeout_s:g}: must be from 1 to 600 "
                            "seconds")
    if scheduler is not None:
        check_scheduler_address(scheduler)  # at once, before reading the sweep
    from sim.experiment.preflight import check_counts

    check_counts(workers=workers)
    sweep = load_sweep(sweep_file, overrides)
    target = out_dir or default_sweep_dir(sweep)
    if dry_run:
        _print_design(sweep, out)
        return 0 if all(p.error is None for p in sweep.points) else 1
    if not sweep.valid_points:  # nothing could run: bad input, not a failed run
        first = sweep.points[0]
        raise UserError(f"{sweep_file}: every point is invalid ({len(sweep.points)}); point "
                        f"{first.point_id} ({first.label()}): {first.error}")
    check_out_dir(target, sweep, restart)  # refuse before connecting or starting workers

    from sim.experiment.executors import DaskExecutor, default_workers, local_executor

    if scheduler is not None:
        executor = DaskExecutor(scheduler, connect_timeout_s or DEFAULT_CONNECT_TIMEOUT_S)
        label = f"dask {scheduler}"
    else:
        n = workers or default_workers()
        n = max(1, min(n, len(sweep.valid_points) * sweep.replications))
        check_sweep_memory(sweep, n)
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
    if as_json:
        print(json.dumps(summary_json(sweep, outcome, target), indent=2))
    elif not quiet and outcome.summary is not None and outcome.summary.num_rows:
        print_summary(sweep, outcome, out, wide=wide)
    _print_failures(outcome, err)  # even with --quiet: they change the exit code
    if not quiet:
        earlier = f", {outcome.skipped} from an earlier run" if outcome.skipped else ""
        problems = len(outcome.failed) + len(outcome.invalid)
        err.print(f"results: {escape(str(target))}  ({outcome.done} of {outcome.points} points done{earlier}"
                  f"{f', {problems} failed' if problems else ''}; {outcome.wall_s:.1f} s, "
                  f"{label})", highlight=False, soft_wrap=True)
    return 0 if outcome.ok else 1


def check_sweep_memory(sweep: Sweep, workers: int) -> None:
    """Refuse a local sweep whose largest point cannot fit ``workers`` times in memory."""
    from sim.experiment.preflight import check_memory, memory_estimate
    from sim.scenario.schema import Scenario

    points = sweep.valid_points
    if not points:
        return
    largest = max(points, key=lambda p: p.scenario["prospects"]["count"]
                  * p.scenario["cadence"]["max_attempts"])
    estimate = memory_estimate(Scenario.model_validate(largest.scenario),
                               replications=sweep.replications, strategies=len(sweep.strategies),
                               workers=workers, keeps_timelines=False)
    check_memory(estimate, f"{sweep.source} (point {largest.point_id})")


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


def _points_table(sweep: Sweep, title: str, headers: list[str] | None = None) -> Table:
    """A table whose first columns are the point id and its swept values."""
    table = Table(title=title, title_justify="left")
    table.add_column("point", justify="right", no_wrap=True)
    for param, header in zip(sweep.parameters, headers or [p.key for p in sweep.parameters]):
        table.add_column(escape(header), justify="right", no_wrap=True)
    return table


def parameter_headers(sweep: Sweep, letters: bool) -> tuple[list[str], str]:
    """Column headers for the swept keys, and a legend line ('' if none is needed).

    The last part of each key (``p_callback``) when those are distinct and ``letters``
    is false; otherwise A, B, ... with the legend naming each key.
    """
    keys = [p.key for p in sweep.parameters]
    short = [key.rsplit(".", 1)[-1] for key in keys]
    if len(set(short)) == len(short) and not letters:
        return short, ""
    names = [chr(ord("A") + i) for i in range(len(keys))]
    return names, "; ".join(f"{name} = {key}" for name, key in zip(names, keys))


def _point_cells(sweep: Sweep, point_id: int, values: dict, digits: int = 6) -> list[str]:
    """The point id and its values; floats to ``digits`` significant digits."""
    return [str(point_id), *[escape(f"{values[p.key]:.{digits}g}" if isinstance(values[p.key], float)
                                    else format_value(values[p.key])) for p in sweep.parameters]]


def _by_point(outcome: SweepOutcome) -> dict[int, dict[str, dict]]:
    """point id -> strategy -> its row of sweep_summary."""
    by_point: dict[int, dict[str, dict]] = {}
    for row in outcome.summary.to_pylist():
        by_point.setdefault(row["point_id"], {})[row["strategy"]] = row
    return by_point


def print_summary(sweep: Sweep, outcome: SweepOutcome, out: Console, wide: bool = False) -> None:
    """One row per finished point: its values, the winner, its connects/rep-h and margin.

    ``wide`` adds a column per strategy; the default fits 80 columns for a few keys.
    """
    from sim.present.run_console import natural_width, print_table

    table, legend = _summary_table(sweep, _by_point(outcome), wide, letters=False)
    if not wide and natural_width(out, table) > out.width:
        table, legend = _summary_table(sweep, _by_point(outcome), wide, letters=True)
    if legend:
        out.print(escape(legend), highlight=False)
    print_table(out, table, wide)
    out.print("margin: winner minus runner-up, paired (same random numbers); tie (a ~ b): "
              "its 95% interval includes 0", highlight=False)
    rows = outcome.summary.to_pylist()
    if not all(row.get("complies", True) for row in rows):
        out.print("✗ breaks a [constraints] cap (judged by the high end of its 95% interval; "
                  "left out of the race): see broken_caps in "
                  f"{outcome.out_dir / 'sweep_summary.parquet'}", highlight=False, markup=False)
    by_point = _by_point(outcome)
    if len(by_point) > MAX_TABLE_ROWS:
        out.print(f"... and {len(by_point) - MAX_TABLE_ROWS} more points in "
                  f"{outcome.out_dir / 'sweep_summary.parquet'}", highlight=False)


def _summary_table(sweep: Sweep, by_point: dict, wide: bool, letters: bool) -> tuple[Table, str]:
    """The per-point table and its legend line; compact unless ``wide``."""
    headers, legend = parameter_headers(sweep, letters)
    table = _points_table(sweep, f"{sweep.name}: connects per paid rep-hour, mean ± 95% "
                                 f"interval over {sweep.replications} replications", headers)
    if wide:
        for name in sweep.strategies:
            table.add_column(escape(name), justify="right", no_wrap=True)
    table.add_column("winner", style="bold", no_wrap=True)
    if not wide:
        table.add_column("winner's\nconnects", justify="right", no_wrap=True)
    table.add_column("margin over\nrunner-up", justify="right", no_wrap=True)
    values = {p.point_id: p.values for p in sweep.points}
    for point_id in sorted(by_point)[:MAX_TABLE_ROWS]:
        cells = by_point[point_id]
        first = next(iter(cells.values()))
        margin = plus_minus_range(first["margin_mean"], first["margin_ci95_low"],
                                  first["margin_ci95_high"], "+.2f")
        tie = is_tie(first)
        # a strategy breaking a [constraints] cap is marked, and cannot win
        headline = [plus_minus_range(cells[s]["connects_per_rep_hour_mean"],
                                     cells[s]["connects_per_rep_hour_ci95_low"],
                                     cells[s]["connects_per_rep_hour_ci95_high"])
                    + ("" if cells[s].get("complies", True) else " [red]✗[/]")
                    for s in (sweep.strategies if wide else [first["winner"]])
                    if s is not None] or ["-"]
        if first["winner"] is None:
            winner_cell, tie = "[red]none complies[/]", False
        else:
            winner_cell = escape(f"{first['winner']} ~ {first['runner_up']}" if tie else first["winner"])
        table.add_row(
            *_point_cells(sweep, point_id, values[point_id], digits=6 if wide else 3),
            *(headline if wide else []),
            winner_cell,
            *([] if wide else headline),
            f"[dim]{margin} tie[/]" if tie else margin,
        )
    return table, legend


def summary_json(sweep: Sweep, outcome: SweepOutcome, target: Path) -> dict:
    """What ``dialsim sweep --json`` prints: the outcome and each finished point."""
    by_point = _by_point(outcome) if outcome.summary is not None else {}
    values = {p.point_id: p.values for p in sweep.points}
    points = []
    for point_id in sorted(by_point):
        cells = by_point[point_id]
        first = next(iter(cells.values()))
        points.append({
            "point_id": point_id,
            "values": values[point_id],
            "winner": first["winner"],
            "runner_up": first["runner_up"],
            "tie": is_tie(first),
            "margin": {"mean": _number(first["margin_mean"]),
                       "ci95_low": _number(first["margin_ci95_low"]),
                       "ci95_high": _number(first["margin_ci95_high"])},
            "connects_per_rep_hour": {
                name: {"mean": _number(row["connects_per_rep_hour_mean"]),
                       "ci95_low": _number(row["connects_per_rep_hour_ci95_low"]),
                       "ci95_high": _number(row["connects_per_rep_hour_ci95_high"])}
                for name, row in cells.items()},
        })
    return {"results": str(target), "sweep": sweep.name, "replications": sweep.replications,
            "strategies": list(sweep.strategies), "parameters": [p.key for p in sweep.parameters],
            "points_total": outcome.points, "points_done": outcome.done,
            "failed": [{"point_id": p.point_id, "error": e} for p, e in outcome.failed]
            + [{"point_id": p.point_id, "error": p.error} for p in outcome.invalid],
            "points": points}


def _number(x):
    return None if x is None or not math.isfinite(x) else round(x, 6)


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
