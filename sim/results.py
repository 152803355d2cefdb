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

import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .errors import UserError
from .metrics import CALLS_SCHEMA

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


def environment_versions() -> dict:
    import numpy
    import simpy

    return {
        "dialsim": __version__,
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

    Rows are appended column-wise into small Python lists and flushed as one Arrow
    record batch every ``batch_rows`` rows.
    """

    COLUMNS = tuple(CALLS_SCHEMA.names)

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
        self._cols = {name: [] for name in self.COLUMNS}
        self._pending = 0

    def append(self, time_s, rep, line, prospect, attempt, direction, outcome, message_id,
               ring_s, talk_s, rep_busy_s):
        cols = self._cols
        cols["time_s"].append(time_s)
        cols["day"].append(int(time_s // 86400.0))
        cols["rep"].append(rep)
        cols["line"].append(line)
        cols["prospect"].append(prospect)
        cols["attempt"].append(attempt)
        cols["direction"].append(direction)
        cols["outcome"].append(outcome)
        cols["action"].append("message" if message_id >= 0 else
                              ("silent" if outcome == "voicemail_silent" else "none"))
        cols["message_id"].append(message_id)
        cols["ring_s"].append(ring_s)
        cols["talk_s"].append(talk_s)
        cols["rep_busy_s"].append(rep_busy_s)
        self._pending += 1
        if self._pending >= self.batch_rows:
            self.flush()

    def flush(self):
        if not self._pending:
            return
        n = self._pending
        self._cols["strategy"] = [self.strategy] * n
        self._cols["replication"] = [self.replication] * n
        arrays = []
        for field in CALLS_SCHEMA:
            values = self._cols[field.name]
            if pa.types.is_dictionary(field.type):
                arrays.append(pa.array(values, type=pa.string()).dictionary_encode()
                              .cast(field.type))
            else:
                arrays.append(pa.array(values, type=field.type))
        self._writer.write_batch(pa.record_batch(arrays, schema=CALLS_SCHEMA))
        self.rows += n
        self._reset()

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
