"""Helpers for the sweep tests: tiny sweep files over the baseline, dataset comparison."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import tomli_w

from .conftest import SCENARIOS

BASELINE = SCENARIOS / "baseline.toml"
# Small enough that a point (all replications, all strategies) takes a fraction of a second.
TINY_SET = {"prospects.count": 200, "calendar.days": 2, "team.reps": 2}


def write_sweep(folder: Path, name: str = "tiny", *, grid: dict | None = None,
                sample: dict | None = None, set_: dict | None = None, file: str = "sweep.toml",
                **top) -> Path:
    """Write a sweep file over the baseline (absolute path) and return its path."""
    data = {"schema_version": 1, "name": name, "base": str(BASELINE), "replications": 2,
            "seed": 7, "strategies": ["never", "always", "rotate"], **top,
            "set": dict(TINY_SET, **(set_ or {}))}
    if grid:
        data["grid"] = grid
    if sample:
        data["sample"] = sample
    path = Path(folder) / file
    path.write_text(tomli_w.dumps(data))
    return path


SORT = [("point_id", "ascending"), ("replication", "ascending"), ("strategy", "ascending")]


def read_dataset(run_dir: Path) -> pa.Table:
    """Every point file of a sweep, in a canonical row order (pyarrow reads the folder)."""
    return ds.dataset(Path(run_dir) / "data", format="parquet").to_table().sort_by(SORT)


def assert_same_sweep(a: Path, b: Path) -> None:
    """Two sweep results folders hold the same data, value for value."""
    left, right = read_dataset(a), read_dataset(b)
    assert left.schema.names == right.schema.names
    assert left.num_rows == right.num_rows
    for name in left.schema.names:
        assert left.column(name).to_pylist() == right.column(name).to_pylist(), name
    for name in ("points.parquet", "sweep_summary.parquet"):
        assert pq.read_table(Path(a) / name).equals(pq.read_table(Path(b) / name)), name
    files_a = sorted(p.name for p in (Path(a) / "data").iterdir())
    files_b = sorted(p.name for p in (Path(b) / "data").iterdir())
    assert files_a == files_b  # no stray temporary or duplicate files either
    for name in files_a:  # and each file identical, row order and metadata included
        left_file = pq.read_table(Path(a) / "data" / name)
        right_file = pq.read_table(Path(b) / "data" / name)
        assert left_file.equals(right_file, check_metadata=True), name
