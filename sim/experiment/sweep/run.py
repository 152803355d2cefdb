"""Running a sweep: tasks for the executors, the point files, the lock, the manifest.

Results folder::

    manifest.json            kind "sweep", parameters, expected points, fingerprint
    points.parquet           point id -> hash, parameter values, status, error
    sweep_summary.parquet    per point x strategy: connects/rep-h, winner, paired margin
    data/point-NNNNNN.parquet  one file per point: parameters as typed columns + metrics

Every point uses the same seed, so points share common random numbers too and the
curves across a swept parameter are smooth rather than noisy.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiment.engine import select as select_engine
from sim.errors import UserError
from sim.experiment.executors import Executor
from sim.experiment.replications import ReplicationBatch, run_replications
from sim.analysis.metrics import SUMMARY_SCHEMA
from sim.store.results import (
    MANIFEST,
    RESULTS_SCHEMA_VERSION,
    check_out_location,
    command_line,
    environment_versions,
    os_error_message,
    remove_stale_temporaries,
    write_json_atomic,
    write_parquet_atomic,
)
from sim.experiment.sweep.design import POINT_HASH, POINT_ID, WINDOW_FIELDS, Point, Sweep
from sim.experiment.sweep.summary import (DATA_DIR, POINTS_FILE, SUMMARY_FILE, point_path,
                                          summary_table)

LOCK_FILE = ".lock"
PLOTS_DIR = "plots"
# sim.present.sweep_plots names its charts PREFIX_<key...>.png in PLOTS_DIR; --restart
# removes exactly those (and the point files), never anything else a user put there.
SWEEP_CHART_PREFIXES = {"lines": "sweep_lines", "margin": "sweep_margin",
                        "marginal": "sweep_marginal"}
_SWEEP_CHART = re.compile(r"^(sweep_lines|sweep_margin|sweep_marginal)_[A-Za-z0-9_.-]+\.png$")
_POINT_FILE = re.compile(r"^point-\d{6}\.parquet$")
HASH_KEY = b"dialsim.point_hash"


@dataclass(frozen=True)
class SweepTask:
    point_id: int
    batch: ReplicationBatch


@dataclass
class SweepTaskResult:
    point_id: int
    rows: list[dict]
    error: str | None = None
    wall_s: float = 0.0


def run_sweep_task(task: SweepTask) -> SweepTaskResult:
    """Run one batch of a point on a worker; an exception becomes the point's error."""
    started = time.perf_counter()
    try:
        rows = run_replications(task.batch)
    except Exception as exc:  # reported with the point's parameters; the sweep goes on
        return SweepTaskResult(task.point_id, [], f"{type(exc).__name__}: {exc}",
                               time.perf_counter() - started)
    return SweepTaskResult(task.point_id, rows, None, time.perf_counter() - started)


def replications_per_task(replications: int, points: int, workers: int) -> int:
    """Whole points per task when there are plenty; else split so every worker has work."""
    wanted_tasks = 4 * max(1, workers)
    if points >= wanted_tasks:
        return replications
    splits = math.ceil(wanted_tasks / max(1, points))
    return max(1, math.ceil(replications / splits))


@dataclass
class SweepOutcome:
    """What a ``run_sweep`` call did; ``failed`` lists (point, error) of this run."""

    out_dir: Path
    status: str
    points: int
    done: int
    skipped: int
    ran: int
    failed: list[tuple[Point, str]] = field(default_factory=list)
    invalid: list[Point] = field(default_factory=list)
    wall_s: float = 0.0
    summary: pa.Table | None = None

    @property
    def ok(self) -> bool:
        return not self.failed and not self.invalid and self.done == self.points


class SweepProgress:
    """Callbacks of a running sweep (override what you need)."""

    def start(self, to_run: int, skipped: int, invalid: list[Point]) -> None:
        pass

    def point_done(self, point: Point, error: str | None) -> None:
        pass


def run_sweep(sweep: Sweep, out_dir: Path, executor: Executor, *, restart: bool = False,
              progress: SweepProgress | None = None, executor_label: str = "local") -> SweepOutcome:
    """Run every point not already finished in ``out_dir``; write the dataset.

    Each point's file appears atomically when all its replications are in. On any
    interruption (Ctrl-C, SIGTERM raised as KeyboardInterrupt, a crash) the workers
    are stopped, finished points stay, the manifest says "interrupted", and the
    exception propagates; running again resumes.
    """
    out_dir = Path(out_dir)
    progress = progress or SweepProgress()
    started = time.perf_counter()
    check_out_dir(out_dir, sweep, restart)  # before anything is written
    select_engine()  # likewise a bad DIALSIM_ENGINE
    with _locked(out_dir):
        try:
            if check_out_dir(out_dir, sweep, restart) == "restart":
                _clear(out_dir)
            (out_dir / DATA_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise UserError(os_error_message(out_dir, exc, "cannot prepare")) from None
        remove_stale_temporaries(out_dir / DATA_DIR)  # left by a killed run
        remove_stale_temporaries(out_dir)
        done = {p.point_id for p in sweep.valid_points if _finished(out_dir, p)}
        manifest = _manifest(sweep, executor, executor_label)
        write_json_atomic(manifest, out_dir / MANIFEST)

        to_run = [p for p in sweep.valid_points if p.point_id not in done]
        invalid = [p for p in sweep.points if p.error is not None]
        outcome = SweepOutcome(out_dir, "running", len(sweep.points), 0, len(done), 0,
                               invalid=invalid)
        failed: dict[int, str] = {}
        status = "interrupted"
        try:
            progress.start(len(to_run), len(done), invalid)
            _execute(sweep, out_dir, executor, to_run, done, failed, progress)
            status = "complete" if len(done) == len(sweep.points) else "failed"
        except BaseException:
            executor.abort()
            raise
        finally:
            if status == "interrupted":  # a stop between a point's file and done.add(...)
                done |= {p.point_id for p in to_run if _finished(out_dir, p)}
            by_id = {p.point_id: p for p in sweep.points}
            outcome.failed = [(by_id[i], e) for i, e in sorted(failed.items())]
            outcome.done = len(done)
            outcome.ran = len(done) - outcome.skipped
            outcome.status = status
            outcome.wall_s = time.perf_counter() - started
            outcome.summary = _finalize(sweep, out_dir, manifest, done, failed, status,
                                        outcome.wall_s)
    return outcome


def _execute(sweep: Sweep, out_dir: Path, executor: Executor, to_run: list[Point],
             done: set[int], failed: dict[int, str], progress: SweepProgress) -> None:
    per_task = replications_per_task(sweep.replications, len(to_run), executor.workers)
    reps = list(range(sweep.replications))
    batches_per_point = math.ceil(sweep.replications / per_task)
    by_id = {p.point_id: p for p in to_run}

    def tasks() -> Iterator[SweepTask]:
        for point in to_run:
            for start in range(0, sweep.replications, per_task):
                batch = ReplicationBatch(point.scenario, sweep.seed,
                                         tuple(reps[start:start + per_task]), sweep.strategies)
                yield SweepTask(point.point_id, batch)

    rows: dict[int, list[dict]] = {}
    remaining: dict[int, int] = {}
    for _task, result in executor.map_unordered(run_sweep_task, tasks(),
                                                max_in_flight=2 * executor.workers):
        pid = result.point_id
        remaining[pid] = remaining.get(pid, batches_per_point) - 1
        if result.error is not None and pid not in failed:
            failed[pid] = result.error
        elif pid not in failed:
            rows.setdefault(pid, []).extend(result.rows)
        if remaining[pid] == 0:
            del remaining[pid]
            point_rows = rows.pop(pid, [])
            if pid not in failed:
                _write_point(sweep, out_dir, by_id[pid], point_rows)
                done.add(pid)
            progress.point_done(by_id[pid], failed.get(pid))


def _write_point(sweep: Sweep, out_dir: Path, point: Point, rows: list[dict]) -> None:
    order = {name: i for i, name in enumerate(sweep.strategies)}
    rows.sort(key=lambda row: (row["replication"], order[row["strategy"]]))
    n = len(rows)
    columns: dict[str, list] = {"point_id": [point.point_id] * n, "point_hash": [point.hash] * n}
    for param in sweep.parameters:
        columns[param.key] = [param.column_value(point.values[param.key])] * n
    for name in (*SUMMARY_SCHEMA.names, *(f.name for f in WINDOW_FIELDS)):
        columns[name] = [row[name] for row in rows]
    schema = sweep.point_schema().with_metadata({HASH_KEY: point.hash.encode()})
    write_parquet_atomic(pa.table(columns, schema=schema), point_path(out_dir, point.point_id))


def _finished(out_dir: Path, point: Point) -> bool:
    """The point's file exists and was written for exactly this point (same hash)."""
    path = point_path(out_dir, point.point_id)
    if not path.exists():
        return False
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return False
    return metadata.get(HASH_KEY) == point.hash.encode()


def check_out_dir(out_dir: Path, sweep: Sweep, restart: bool) -> str:
    """"new", "resume" or "restart"; a folder we must not touch is a UserError."""
    check_out_location(out_dir)
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise UserError(f"--out {out_dir}: exists and is not a folder")
    if not out_dir.exists():
        return "new"
    manifest_path = out_dir / MANIFEST
    if not manifest_path.exists():
        try:
            entries = [p for p in out_dir.iterdir() if p.name != LOCK_FILE]
        except OSError as exc:
            raise UserError(os_error_message(out_dir, exc, "cannot read")) from None
        if entries:
            raise UserError(f"--out {out_dir}: not empty and not a sweep results folder; "
                            "choose another --out")
        return "new"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(os_error_message(manifest_path, exc, "cannot read")) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UserError(f"{manifest_path}: unreadable manifest: {exc}") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{manifest_path}: not a dialsim manifest (a JSON "
                        f"{type(manifest).__name__}); choose another --out")
    if manifest.get("kind") != "sweep":
        raise UserError(f"--out {out_dir}: holds a dialsim {manifest.get('kind', 'run')}, "
                        "not a sweep; choose another --out")
    if manifest.get("fingerprint") == sweep.fingerprint and \
            manifest.get("results_schema_version") == RESULTS_SCHEMA_VERSION:
        return "restart" if restart else "resume"
    if restart:
        return "restart"
    raise UserError(
        f"--out {out_dir}: holds results of a different sweep (the sweep file, its base "
        f"scenario or dialsim changed: fingerprint {str(manifest.get('fingerprint'))[:12]} "
        f"there, {sweep.fingerprint[:12]} now); use another --out, or --restart to discard "
        "those results")


def _clear(out_dir: Path) -> None:
    """Remove what a sweep wrote (only called on a folder whose manifest says sweep).

    The manifest, points and summary tables, ``data/point-NNNNNN.parquet`` and the
    sweep's charts in ``plots/``; a folder left empty goes too. Anything else (a
    user's notes in ``plots/``, files beside the results) stays where it is.
    """
    for name in (MANIFEST, POINTS_FILE, SUMMARY_FILE):
        (out_dir / name).unlink(missing_ok=True)
    for folder, pattern in ((DATA_DIR, _POINT_FILE), (PLOTS_DIR, _SWEEP_CHART)):
        path = out_dir / folder
        if not path.is_dir() or path.is_symlink():
            continue
        for entry in path.iterdir():
            if pattern.match(entry.name) and entry.is_file() and not entry.is_symlink():
                entry.unlink()
        remove_stale_temporaries(path)
        if not any(path.iterdir()):
            path.rmdir()


@contextmanager
def _locked(out_dir: Path):
    """One sweep at a time per folder (an advisory lock, released if the process dies)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out_dir}: cannot create: {exc.strerror}") from None
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        handle = open(out_dir / LOCK_FILE, "a+")
    except OSError as exc:  # a read-only folder
        raise UserError(os_error_message(out_dir / LOCK_FILE, exc, "cannot write")) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"--out {out_dir}: another dialsim sweep is writing there; wait "
                            "for it to finish or choose another --out") from None
        yield


def _manifest(sweep: Sweep, executor: Executor, executor_label: str) -> dict:
    return {
        "results_schema_version": RESULTS_SCHEMA_VERSION,
        "kind": "sweep",
        "status": "running",
        "pid": os.getpid(),  # while "running": the process writing it (see sweep_status)
        "host": socket.gethostname(),
        "sweep_name": sweep.name,
        "sweep_source": str(sweep.source),
        "base_source": str(sweep.base_source),
        "fingerprint": sweep.fingerprint,
        "sweep": sweep.spec.model_dump(mode="json"),
        "overrides": list(sweep.overrides),
        "base_scenario": sweep.base,
        "seed": sweep.seed,
        "replications": sweep.replications,
        "strategies": list(sweep.strategies),
        "parameters": [p.describe() for p in sweep.parameters],
        "points_expected": len(sweep.points),
        "duplicate_points_dropped": sweep.duplicates_dropped,
        "points": [{"point_id": p.point_id, "hash": p.hash} for p in sweep.points],
        "versions": environment_versions(select_engine(warn=False).name),
        "command": command_line(),
        "executor": executor_label,
        "workers": executor.workers,
        "started_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _finalize(sweep: Sweep, out_dir: Path, manifest: dict, done: set[int],
              failed: dict[int, str], status: str, wall_s: float) -> pa.Table:
    """Write points.parquet, sweep_summary.parquet (from the files on disk) and the manifest."""
    points = points_table(sweep, done, failed)
    write_parquet_atomic(points, out_dir / POINTS_FILE)
    summary = summary_table(sweep, out_dir, done)
    write_parquet_atomic(summary, out_dir / SUMMARY_FILE)
    manifest = dict(manifest)
    manifest.update({
        "status": status,
        "points_done": len(done),
        "points_failed": len(failed),
        "points_invalid": sum(p.error is not None for p in sweep.points),
        "failures": [{"point_id": p.point_id, "values": p.values,
                      "status": "invalid" if p.error else "failed",
                      "error": p.error or failed[p.point_id]}
                     for p in sweep.points if p.error or p.point_id in failed],
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "timings_s": {"this_run": round(wall_s, 3)},
        "files": {POINTS_FILE: points.num_rows, SUMMARY_FILE: summary.num_rows,
                  DATA_DIR: len(done)},
    })
    write_json_atomic(manifest, out_dir / MANIFEST)
    return summary


def points_table(sweep: Sweep, done: set[int], failed: dict[int, str]) -> pa.Table:
    """One row per point: id, hash, parameter values, status (done/failed/invalid/pending)."""
    schema = pa.schema([
        POINT_ID,
        POINT_HASH,
        *[p.field() for p in sweep.parameters],
        pa.field("status", pa.string(), metadata={"description": "done, failed, invalid or pending"}),
        pa.field("error", pa.string()),
    ])
    columns: dict[str, list] = {name: [] for name in schema.names}
    for point in sweep.points:
        status = ("invalid" if point.error else "done" if point.point_id in done
                  else "failed" if point.point_id in failed else "pending")
        columns["point_id"].append(point.point_id)
        columns["point_hash"].append(point.hash)
        for param in sweep.parameters:
            columns[param.key].append(param.column_value(point.values[param.key]))
        columns["status"].append(status)
        columns["error"].append(point.error or failed.get(point.point_id))
    return pa.table(columns, schema=schema)
