"""The same sweep on a real Dask cluster (a scheduler and two worker processes on
127.0.0.1, started here) gives the local dataset value for value."""

from __future__ import annotations

import json
import operator
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sim.errors import UserError
from sim.experiment.executors import DaskExecutor, SerialExecutor
from sim.experiment.sweep import load_sweep, run_sweep

from .sweep_support import assert_same_sweep, write_sweep

pytestmark = [pytest.mark.dask, pytest.mark.slow]
DIALSIM = str(Path(sys.executable).with_name("dialsim"))


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as local_cluster:
        yield local_cluster


def test_sweep_on_dask_matches_a_local_run(cluster, tmp_path):
    grid = {"callbacks.p_callback": [0.005, 0.05], "screening.answer_mult_per_silent_miss": [0.6, 1.0],
            "team.lines_per_rep": [1, 2]}
    path = write_sweep(tmp_path, grid=grid)
    assert run_sweep(load_sweep(path), tmp_path / "local", SerialExecutor()).ok
    result = subprocess.run([DIALSIM, "sweep", str(path), "--out", str(tmp_path / "dask"),
                             "--scheduler", cluster.scheduler_address],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["executor"] == f"dask {cluster.scheduler_address}"
    assert manifest["workers"] == 2
    assert "run_sweep_task" in cluster.scheduler.task_prefixes  # the work went to the cluster
    assert_same_sweep(tmp_path / "local", tmp_path / "dask")


def test_dask_executor_bounds_tasks_in_flight(cluster):
    with DaskExecutor(cluster.scheduler_address) as executor:
        seen = []
        for task, result in executor.map_unordered(operator.neg, range(20), max_in_flight=3):
            assert len(executor._pending) <= 3 - 1  # this one was taken off already
            seen.append((task, result))
    assert sorted(seen) == [(i, -i) for i in range(20)]


def test_unreachable_scheduler_is_a_user_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UserError, match=f"--scheduler tcp://127.0.0.1:{port}: cannot connect"):
        DaskExecutor(f"tcp://127.0.0.1:{port}", connect_timeout_s=1)
