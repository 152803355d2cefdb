"""Stopping a real `dialsim run` (SIGTERM, Ctrl-C, SIGKILL): workers gone, no staging left.

Each run is started in its own session, so its process group holds exactly the parent,
its worker processes and multiprocessing's resource tracker; the tests count that group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.experiment.sweep import sweep_status

from .conftest import SCENARIOS
from .sweep_support import write_sweep

pytestmark = pytest.mark.slow  # real subprocesses (make test-fast leaves them out)

DIALSIM = str(Path(sys.executable).with_name("dialsim"))
# long enough to be stopped mid-run (several seconds on 2 workers), small in memory
SLOW = ["-n", "40", "--workers", "2", "--set", "prospects.count=40000",
        "--set", "calendar.days=10"]


def group_members(pgid: int) -> list[int]:
    """Pids whose process group is ``pgid`` (from /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def wait_until(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def start_run(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([DIALSIM, "run", str(SCENARIOS / "baseline.toml"), *SLOW, "-q",
                             "--out", str(out), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for_workers(proc: subprocess.Popen) -> None:
    """Until the parent, its 2 workers and the resource tracker are all up."""
    assert wait_until(lambda: len(group_members(proc.pid)) >= 4 or proc.poll() is not None, 60)
    assert proc.poll() is None, "the run ended before it could be stopped"
    time.sleep(0.5)  # the workers are simulating


def cleanup(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def staging(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_a_stopped_run_leaves_no_process_and_no_staging(tmp_path, how):
    out = tmp_path / "run"
    proc = start_run(out)
    try:
        wait_for_workers(proc)
        assert staging(tmp_path), "the run had not started staging: nothing was tested"
        if how == "sigterm":  # the main process only, as a batch system does
            proc.send_signal(signal.SIGTERM)
        else:  # a terminal's Ctrl-C reaches the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == (143 if how == "sigterm" else 130), stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("stopped ("), stderr
        assert wait_until(lambda: not group_members(proc.pid), 10), "processes outlived the run"
    finally:
        cleanup(proc)
    assert not out.exists() and staging(tmp_path) == []


def catches_sigterm(pid: int) -> bool:
    """The process has its own SIGTERM handler (the entry point installs one first)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    except OSError:
        pass
    return False


def test_ctrl_c_while_starting_is_one_line(tmp_path):
    """From dialsim's first line of code (before that, only the bare interpreter runs)."""
    proc = start_run(tmp_path / "run")
    try:
        assert wait_until(lambda: catches_sigterm(proc.pid), 10)
        os.killpg(proc.pid, signal.SIGINT)  # Python is still importing the CLI
        _, stderr = proc.communicate(timeout=30)
    finally:
        cleanup(proc)
    assert proc.returncode == 130
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert list(tmp_path.iterdir()) == []


def test_workers_of_a_killed_run_exit_and_the_next_run_removes_its_staging(tmp_path):
    out = tmp_path / "run"
    proc = start_run(out)
    try:
        wait_for_workers(proc)
        os.kill(proc.pid, signal.SIGKILL)  # the parent only: nobody stops the workers
        proc.wait(timeout=10)
        killed_at = time.monotonic()
        assert wait_until(lambda: not group_members(proc.pid), 10), \
            f"workers still running 10 s after their parent was killed: {group_members(proc.pid)}"
        assert time.monotonic() - killed_at < 10
    finally:
        cleanup(proc)
    left = staging(tmp_path)
    assert left and not out.exists()  # a kill -9 cannot clean up: the next run does
    again = subprocess.run([DIALSIM, "run", str(SCENARIOS / "baseline.toml"), "-n", "1",
                            "--workers", "1", "-q", "--set", "prospects.count=200",
                            "--set", "calendar.days=1", "--out", str(out)],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert staging(tmp_path) == [] and (out / "manifest.json").exists()


def test_a_killed_sweep_is_not_reported_running(tmp_path):
    path = write_sweep(tmp_path, grid={"callbacks.p_callback": [0.01, 0.02, 0.03, 0.04]},
                       set_={"prospects.count": 20000, "calendar.days": 5}, replications=4)
    out = tmp_path / "out"
    proc = subprocess.Popen([DIALSIM, "sweep", str(path), "--out", str(out), "--workers", "2",
                             "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert wait_until(lambda: (out / "manifest.json").exists() or proc.poll() is not None, 60)
        wait_for_workers(proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_until(lambda: not group_members(proc.pid), 10), "sweep workers outlived it"
    finally:
        cleanup(proc)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running" and manifest["pid"] == proc.pid  # what kill -9 left
    assert sweep_status(manifest) == "interrupted"
    assert sweep_status({**manifest, "pid": os.getpid()}) == "running"  # a live writer
