"""Stopping a real `dialsim sweep` part-way (SIGTERM, or a crash) and running it again.

The re-run must end with exactly the dataset of an uninterrupted run: nothing lost,
nothing computed twice, no half-written file visible.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sim.experiment.executors import SerialExecutor
from sim.experiment.sweep import load_sweep, run_sweep

pytestmark = pytest.mark.slow  # real processes stopped with signals: seconds each

from .sweep_support import assert_same_sweep, write_sweep

DIALSIM = str(Path(sys.executable).with_name("dialsim"))
GRID = {"callbacks.p_callback": [0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
        "screening.answer_mult_per_silent_miss": [0.6, 0.75, 0.9, 1.0]}
POINTS = 24


@pytest.fixture(scope="module")
def sweep_and_reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill")
    path = write_sweep(folder, grid=GRID, set_={"prospects.count": 300})
    assert run_sweep(load_sweep(path), folder / "reference", SerialExecutor()).ok
    return path, folder / "reference"


def start(path: Path, out: Path, workers: int) -> subprocess.Popen:
    """The installed command, in its own process group (so the test can end all of it)."""
    return subprocess.Popen([DIALSIM, "sweep", str(path), "--out", str(out),
                             "--workers", str(workers)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finished(out: Path) -> int:
    return len(list((out / "data").glob("point-*.parquet"))) if (out / "data").exists() else 0


def wait_for_points(proc: subprocess.Popen, out: Path, n: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while finished(out) < n:
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended (code {proc.returncode}) before it could be stopped")
        if time.monotonic() > deadline:
            pytest.fail("no point finished in time")
        time.sleep(0.01)


def group_gone(pgid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def end_group(proc: subprocess.Popen) -> None:
    """Cleanup: kill what is left of the process group this test started."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def resume_and_compare(path: Path, out: Path, reference: Path, kept: int, workers: int) -> None:
    result = subprocess.run([DIALSIM, "sweep", str(path), "--out", str(out),
                             "--workers", str(workers)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{kept} from an earlier run" in result.stderr  # finished points were skipped
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert_same_sweep(reference, out)


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_a_stop_is_clean_and_a_rerun_completes_the_same_dataset(sweep_and_reference, tmp_path, how):
    path, reference = sweep_and_reference
    out = tmp_path / "out"
    proc = start(path, out, workers=2)  # local worker processes must stop too
    try:
        wait_for_points(proc, out, 2)
        if how == "sigterm":  # e.g. a batch system ending the job: the main process only
            proc.send_signal(signal.SIGTERM)
        else:  # a terminal's Ctrl-C reaches the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == (143 if how == "sigterm" else 130), stderr
        assert "run the same command again to resume" in stderr
        assert "Traceback" not in stderr and "Process SpawnProcess" not in stderr
        assert group_gone(proc.pid), "worker processes outlived the stopped sweep"
    finally:
        end_group(proc)
    kept = finished(out)
    assert 2 <= kept < POINTS, "the sweep finished before it was stopped: nothing was tested"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["points_done"] == kept
    statuses = pq.read_table(out / "points.parquet").column("status").to_pylist()
    assert statuses.count("done") == kept and statuses.count("pending") == POINTS - kept
    assert not list((out / "data").glob(".*"))  # no temporary file left behind
    resume_and_compare(path, out, reference, kept, workers=1)


def test_a_crash_loses_no_finished_point_and_a_rerun_completes(sweep_and_reference, tmp_path):
    path, reference = sweep_and_reference
    out = tmp_path / "out"
    proc = start(path, out, workers=1)
    try:
        wait_for_points(proc, out, 3)
        os.killpg(proc.pid, signal.SIGKILL)  # the whole sweep dies at once, no cleanup
        proc.wait(timeout=10)
    finally:
        end_group(proc)
    kept = finished(out)
    assert 3 <= kept < POINTS, "the sweep finished before it was killed: nothing was tested"
    for point_file in (out / "data").glob("point-*.parquet"):
        assert pq.read_table(point_file).num_rows == 2 * 3  # every visible file is whole
    resume_and_compare(path, out, reference, kept, workers=1)
