"""sensitivity, map and optimise give the same numbers on every executor: in this
process, on local worker processes, and on a real Dask cluster (started here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sim.experiment.decision_map import plan_map, run_map
from sim.experiment.executors import LocalProcessExecutor, SerialExecutor
from sim.experiment.sensitivity import plan_sensitivity, run_sensitivity

from .conftest import SCENARIOS

pytestmark = pytest.mark.slow
BASELINE = SCENARIOS / "baseline.toml"
TINY = ["prospects.count=200", "calendar.days=2", "team.reps=1"]
VARY = ["prospects.segments.0.p_pickup=0.05:0.5", "callbacks.p_callback=0.001:0.05:log"]
DIALSIM = str(Path(sys.executable).with_name("dialsim"))


def _sensitivity():
    return plan_sensitivity(BASELINE, VARY, "morris", size=2, overrides=TINY,
                            strategies=["never", "always"], replications=2, seed=3)


def test_local_workers_match_serial(tmp_path):
    run_sensitivity(_sensitivity(), tmp_path / "serial", SerialExecutor())
    with LocalProcessExecutor(2) as executor:
        run_sensitivity(_sensitivity(), tmp_path / "pool", executor)
    for name in ("indices.parquet", "outputs.parquet"):
        a = pq.read_table(tmp_path / "serial" / name).to_pandas()
        b = pq.read_table(tmp_path / "pool" / name).to_pandas()
        assert a.equals(b), name
    plan = lambda: plan_map(BASELINE, VARY[0], VARY[1], grid=2, depth=1, overrides=TINY,  # noqa: E731
                            strategies=["never", "always"], replications=2, seed=3)
    serial = run_map(plan(), tmp_path / "map-serial", SerialExecutor())
    with LocalProcessExecutor(2) as executor:
        pool = run_map(plan(), tmp_path / "map-pool", executor)
    assert pq.read_table(tmp_path / "map-serial" / "map.parquet").to_pandas().equals(
        pq.read_table(tmp_path / "map-pool" / "map.parquet").to_pandas())
    assert serial.rounds == pool.rounds


@pytest.mark.dask
def test_sensitivity_on_dask_matches_serial(tmp_path):
    from distributed import LocalCluster

    run_sensitivity(_sensitivity(), tmp_path / "serial", SerialExecutor())
    args = [DIALSIM, "sensitivity", str(BASELINE), "--size", "2", "-n", "2", "--seed", "3",
            "-s", "never", "-s", "always", "--out", str(tmp_path / "dask"), "-q"]
    for item in VARY:
        args += ["--vary", item]
    for item in TINY:
        args += ["--set", item]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        result = subprocess.run([*args, "--scheduler", cluster.scheduler_address],
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stderr
        assert "run_sweep_task" in cluster.scheduler.task_prefixes
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["executor"].startswith("dask ")
    a = pq.read_table(tmp_path / "serial" / "indices.parquet").to_pandas()
    b = pq.read_table(tmp_path / "dask" / "indices.parquet").to_pandas()
    assert a.equals(b)
