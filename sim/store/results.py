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
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim import __version__
from sim.errors import UserError
from sim.analysis.metrics import CALLS_SCHEMA

RESULTS_SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` via a temporary file and an atomic rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(data: dict, path: Path) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def staged_directory(final: Path):
    """Yield a temporary folder beside ``final``; on success it replaces ``final``.

    On any exception (including KeyboardInterrupt) the temporary folder is removed
    and ``final`` is left exactly as it was.
    """
    final = Path(final)
    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {final}: cannot create {parent}: {exc.strerror}") from None
    if final.exists() and not final.is_dir():
        raise UserError(f"--out {final}: exists and is not a folder")
    if not os.access(parent, os.W_OK):
        raise UserError(f"--out {final}: folder {parent} is not writable")
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)  # mkdtemp makes it private (0700); results are shared files
    try:
        yield stage
        old = None
        if final.exists():
            old = parent / f".{final.name}.{uuid.uuid4().hex[:8]}.old"
            os.replace(final, old)
        os.replace(stage, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
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
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such results folder")
    path = run_dir / MANIFEST
    if not path.exists():
        raise UserError(f"{run_dir}: not a finished dialsim results folder (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, OSError) as exc:
        raise UserError(f"{path}: unreadable manifest: {exc}") from None
    version = manifest.get("results_schema_version")
    if version != RESULTS_SCHEMA_VERSION:
        raise UserError(
            f"{path}: results_schema_version {version!r}; this dialsim reads "
            f"{RESULTS_SCHEMA_VERSION}: re-run the scenario with this version"
        )
    return manifest


class CallLogWriter:
    """Streams per-call rows to a Parquet file in batches; never holds the whole log.

    ``append`` puts each value on its column's list (through bound ``list.append``:
    the cheapest per-call work); the derived ``day`` and ``action`` columns are
    computed a batch at a time when the batch is flushed. Every ``batch_rows`` rows
    the batch is written as one Arrow record batch, so memory is bounded by
    ``batch_rows`` whatever the length of the campaign.
    """

    COLUMNS = tuple(CALLS_SCHEMA.names)
    # the columns append() fills, in the order of its arguments
    APPENDED = ("time_s", "rep", "line", "prospect", "attempt", "direction", "outcome",
                "message_id", "ring_s", "talk_s", "rep_busy_s")

    def __init__(self, path: Path, strategy: str, replication: int, days_s: float = 86400.0,
                 batch_rows: int = 65_536):
        self.path = Path(path)
        self.strategy = strategy
        self.replication = replication
        self.batch_rows = batch_rows
        self.rows = 0
        self._writer = pq.ParquetWriter(self.path, CALLS_SCHEMA)
        self._reset()

    def _reset(self):
        self._cols = {name: [] for name in self.APPENDED}
        (self._time, self._rep, self._line, self._prospect, self._attempt, self._direction,
         self._outcome, self._message, self._ring, self._talk, self._busy) = (
            self._cols[name].append for name in self.APPENDED)
        self._pending = 0

    def append(self, time_s, rep, line, prospect, attempt, direction, outcome, message_id,
               ring_s, talk_s, rep_busy_s):
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
        self._pending += 1
        if self._pending >= self.batch_rows:
            self.flush()

    def flush(self):
        if not self._pending:
            return
        import pyarrow.compute as pc

        n, pending = self._pending, self._cols
        self._reset()  # drops the bound appends, so each list is freed once converted
        columns = {}
        for field in CALLS_SCHEMA:
            if field.name in pending:
                kind = pa.string() if pa.types.is_dictionary(field.type) else field.type
                columns[field.name] = pa.array(pending.pop(field.name), type=kind)
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
        self._writer.write_batch(pa.record_batch(arrays, schema=CALLS_SCHEMA))
        self.rows += n
        pa.default_memory_pool().release_unused()  # keep RSS at one batch, not a high-water mark

    def close(self):
        self.flush()
        self._writer.close()


def merge_parquet_parts(parts: list[Path], destination: Path, schema: pa.Schema) -> int:
    """Concatenate part files into one Parquet file batch by batch (bounded memory)."""
    destination = Path(destination)
    tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.tmp")
    rows = 0
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for part in parts:
                source = pq.ParquetFile(part)
                for batch in source.iter_batches(batch_size=65_536):
                    writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)
                    rows += batch.num_rows
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)
    return rows
