"""Results on disk: Parquet tables, the manifest, the streamed call log, atomic writes.

A run folder is built under a hidden temporary name beside its destination and
renamed into place only when complete, so a crash or Ctrl-C never leaves a
half-written run where a reader would find it. Single files are written the same
way (temporary name, then ``os.replace``).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from array import array
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim import __version__
from sim.errors import UserError
from sim.analysis.metrics import CALLS_SCHEMA
from sim.store.atomic import (  # noqa: F401  (write_* re-exported: one writer for all of sim)
    atomic_path,
    os_error_message,
    pid_alive,
    remove_stale_temporaries,
    temporary_name,
    write_bytes_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)

RESULTS_SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
# the files of a run folder (docs/results.md)
SUMMARY_FILE = "summary.parquet"
TIMELINE_FILE = "timeline.parquet"
NUMBERS_FILE = "numbers.parquet"
BREAKDOWN_FILE = "breakdown.parquet"
CALLS_FILE = "calls.parquet"


# Files dialsim itself writes into a run folder after the run (``dialsim plot`` and
# ``dialsim report``); with the manifest's own "files" they are all a run folder may
# hold for dialsim to replace it. tests/test_out_safety.py checks the list is complete.
RUN_FOLDER_DERIVED_FILES = frozenset({
    "report.html", "connects_per_rep_hour.png", "connects_by_hour.png",
    "cumulative_connects.png", "funnel.png", "pacing.png", "numbers.png",
})


def _manifest_kind(folder: Path) -> tuple[dict | None, str]:
    """(manifest, "") for a folder holding a dialsim manifest, else (None, why not)."""
    path = folder / MANIFEST
    if not path.is_file():
        return None, f"has no {MANIFEST}"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None, f"its {MANIFEST} is unreadable"
    if not isinstance(manifest, dict) or manifest.get("kind") not in ("run", "sweep"):
        return None, f"its {MANIFEST} is not a dialsim manifest"
    return manifest, ""


def check_replaceable(final: Path, label: str = "--out") -> str:
    """Refuse (UserError) to replace anything but an empty folder or a dialsim run folder.

    Returns "new" (nothing there), "empty" (an empty folder) or "replace" (an earlier
    dialsim run, which holds only the files its manifest lists, charts and report).
    Anything else, such as a folder of the user's files or a sweep, is refused.
    """
    final = Path(final)
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise UserError(f"{label} {final}: exists and is not a folder; choose another {label}")
    if not final.exists():
        return "new"
    try:
        entries = [e for e in final.iterdir() if not _is_own_temporary(e.name)]
    except OSError as exc:
        raise UserError(os_error_message(final, exc, "cannot read")) from None
    if not entries:
        return "empty"
    manifest, why = _manifest_kind(final)
    if manifest is None:
        raise UserError(f"{label} {final}: not empty and not a dialsim results folder ({why}); "
                        f"dialsim replaces only its own results: choose another {label}")
    if manifest.get("kind") != "run":
        raise UserError(f"{label} {final}: holds a dialsim {manifest.get('kind')}, not a run; "
                        f"choose another {label}")
    listed = manifest.get("files")
    known = {MANIFEST, *RUN_FOLDER_DERIVED_FILES}
    if isinstance(listed, dict):
        known.update(str(name) for name in listed)
    foreign = sorted(e.name for e in entries
                     if e.name not in known or e.is_symlink() or not e.is_file())
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise UserError(f"{label} {final}: holds files dialsim did not write "
                        f"({', '.join(foreign[:3])}{more}); move them or choose another {label}")
    return "replace"


def _is_own_temporary(name: str) -> bool:
    return name.startswith(".") and (name.endswith(".tmp") or name.endswith(".old"))


def check_out_location(final: Path, label: str = "--out") -> None:
    """``--out`` may not be the current folder or one of its parents (it would be replaced)."""
    try:
        resolved = Path(final).resolve()
        here = Path.cwd().resolve()
    except (OSError, RuntimeError) as exc:
        raise UserError(f"{label} {final}: cannot resolve: {exc}") from None
    if resolved == here or resolved in here.parents:
        raise UserError(f"{label} {final}: is the current folder or a parent of it; "
                        "results go in a folder of their own (e.g. results/NAME)")
    if resolved.parent == resolved:
        raise UserError(f"{label} {final}: is a file-system root; choose a folder of its own")


@contextmanager
def staged_directory(final: Path, label: str = "--out", on_replace=None):
    """Yield a temporary folder beside ``final``; on success it replaces ``final``.

    ``final`` must be new, empty or an earlier dialsim run (:func:`check_replaceable`);
    this is checked on entry, before the caller does any work, and again just before
    the swap. ``on_replace(final)`` is called when an earlier run is replaced. On any
    exception (including KeyboardInterrupt) the temporary folder is removed and
    ``final`` is left exactly as it was. Staging left by killed runs is removed first.
    """
    final = Path(final)
    check_out_location(final, label)
    check_replaceable(final, label)
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{label} {final}: cannot create {parent}: {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{label} {final}: folder {parent} is not writable")
    remove_stale_temporaries(parent)
    stage = temporary_name(final)
    try:
        stage.mkdir()
    except OSError as exc:
        raise UserError(os_error_message(stage, exc, "cannot create")) from None
    try:
        yield stage
        what = check_replaceable(final, label)
        old = None
        try:
            if what != "new":
                old = temporary_name(final, "old")
                os.replace(final, old)
            os.replace(stage, final)
        except OSError as exc:
            if old is not None and not final.exists():
                os.replace(old, final)
            raise UserError(os_error_message(final, exc, "cannot replace")) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if what == "replace" and on_replace is not None:
            on_replace(final)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def environment_versions(kernel: str) -> dict:
    """What produced a results folder; ``kernel`` is the build of the model's kernel
    that ran ("compiled" or "python": the same numbers either way)."""
    import numpy
    import simpy

    return {
        "dialsim": __version__,
        "kernel": kernel,
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "numpy": numpy.__version__,
        "pyarrow": pa.__version__,
        "platform": platform.platform(),
    }


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]


def read_manifest(run_dir: Path) -> dict:
    """The manifest of a results folder, or a UserError saying what is wrong."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"{run_dir}: is a file, not a results folder")
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such results folder")
    path = run_dir / MANIFEST
    if not path.exists():
        raise UserError(f"{run_dir}: not a finished dialsim results folder (no {MANIFEST})")
    if not path.is_file():
        raise UserError(f"{path}: is not a file; not a dialsim results folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(os_error_message(path, exc, "cannot read")) from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: unreadable manifest: {reason}") from None
    if not isinstance(manifest, dict):
        raise UserError(f"{path}: damaged manifest: expected a JSON object, found "
                        f"{type(manifest).__name__}; re-run the scenario")
    version = manifest.get("results_schema_version")
    if version != RESULTS_SCHEMA_VERSION:
        raise UserError(
            f"{path}: results_schema_version {version!r}; this dialsim reads "
            f"{RESULTS_SCHEMA_VERSION}: re-run the scenario with this version"
        )
    return manifest


class CallLogWriter:
    """Streams per-call rows to a Parquet file in batches; never holds the whole log.

    ``append`` puts each value on its column's buffer (through bound ``append``: the
    cheapest per-call work): numbers on typed arrays of the column's own type (8 bytes
    a time, 2 an attempt, where a list would keep a ~32-byte Python object), the two
    text columns on lists of shared strings. The derived ``day`` and ``action``
    columns are computed a batch at a time when the batch is flushed. Every
    ``batch_rows`` rows the batch is written as one Arrow record batch (read from the
    buffers without a copy), so memory is bounded by ``batch_rows`` whatever the
    length of the campaign.
    """

    COLUMNS = tuple(CALLS_SCHEMA.names)
    # the columns append() fills, in the order of its arguments, with their buffer's
    # array typecode (None: a list of strings, dictionary-encoded when written)
    APPENDED = (("time_s", "d"), ("rep", "i"), ("line", "h"), ("prospect", "i"),
                ("attempt", "h"), ("direction", None), ("outcome", None),
                ("message_id", "h"), ("ring_s", "d"), ("talk_s", "d"), ("rep_busy_s", "d"),
                ("phone_number", "b"))

    def __init__(self, path: Path, strategy: str, replication: int, days_s: float = 86400.0,
                 batch_rows: int = 65_536):
        self.path = Path(path)
        self.strategy = strategy
        self.replication = replication
        self.batch_rows = batch_rows
        self.rows = 0
        try:
            self._writer = pq.ParquetWriter(self.path, CALLS_SCHEMA)
        except OSError as exc:  # a full disk or a folder gone: one line, not a traceback
            raise UserError(os_error_message(self.path, exc)) from None
        self._reset()

    def _reset(self):
        self._cols = {name: ([] if code is None else array(code)) for name, code in self.APPENDED}
        (self._time, self._rep, self._line, self._prospect, self._attempt, self._direction,
         self._outcome, self._message, self._ring, self._talk, self._busy, self._number) = (
            self._cols[name].append for name, _ in self.APPENDED)
        self._pending = 0

    def append(self, time_s, rep, line, prospect, attempt, direction, outcome, message_id,
               ring_s, talk_s, rep_busy_s, phone_number=1):
        try:
            self._time(time_s)
            self._rep(rep)
            self._line(line)
            self._prospect(prospect)
            self._attempt(attempt)
            self._direction(direction)
            self._outcome(outcome)
            self._message(message_id)
            self._ring(ring_s)
            self._talk(talk_s)
            self._busy(rep_busy_s)
            self._number(phone_number)
        except (OverflowError, TypeError) as exc:  # a value its column cannot hold
            for buffer in self._cols.values():  # drop the row's first columns: the rows
                del buffer[self._pending:]      # before it stay whole and are written
            raise ValueError(f"{self.path.name}: call {self.rows + self._pending + 1} "
                             f"does not fit the call-log schema ({exc})") from None
        self._pending += 1
        if self._pending >= self.batch_rows:
            self.flush()

    def flush(self):
        if not self._pending:
            return
        import pyarrow.compute as pc

        n, pending = self._pending, self._cols
        self._reset()  # drops the bound appends, so each buffer is freed once written
        columns = {}
        for field in CALLS_SCHEMA:
            if field.name in pending:
                values = pending.pop(field.name)
                if isinstance(values, list):  # text: dictionary-encoded below
                    columns[field.name] = pa.array(values, type=pa.string())
                else:  # a typed buffer of the field's own type: no copy
                    columns[field.name] = pa.array(np.frombuffer(values, dtype=values.typecode),
                                                   type=field.type)
        # int(time_s // 86400.0) (numpy's floor_divide is Python's) and the action
        days = np.floor_divide(columns["time_s"].to_numpy(), 86400.0)
        columns["day"] = pa.array(days.astype(np.int32))
        columns["action"] = pc.if_else(
            pc.greater_equal(columns["message_id"], 0), "message",
            pc.if_else(pc.equal(columns["outcome"], "voicemail_silent"), "silent", "none"))
        columns["strategy"] = pa.array([self.strategy] * n, type=pa.string())
        columns["replication"] = pa.array(np.full(n, self.replication, dtype=np.int32))
        arrays = []
        for field in CALLS_SCHEMA:
            column = columns[field.name]
            if pa.types.is_dictionary(field.type):  # dictionary in order of first appearance
                column = column.dictionary_encode().cast(field.type)
            arrays.append(column)
        try:
            self._writer.write_batch(pa.record_batch(arrays, schema=CALLS_SCHEMA))
        except OSError as exc:
            raise UserError(os_error_message(self.path, exc)) from None
        self.rows += n
        pa.default_memory_pool().release_unused()  # keep RSS at one batch, not a high-water mark

    def close(self):
        self.flush()
        try:
            self._writer.close()
        except OSError as exc:
            raise UserError(os_error_message(self.path, exc)) from None


def merge_parquet_parts(parts: list[Path], destination: Path, schema: pa.Schema) -> int:
    """Concatenate part files into one Parquet file batch by batch (bounded memory)."""
    rows = 0
    with atomic_path(destination) as tmp:
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in parts:
                source = pq.ParquetFile(part)
                for batch in source.iter_batches(batch_size=65_536):
                    writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)
                    rows += batch.num_rows
    return rows
