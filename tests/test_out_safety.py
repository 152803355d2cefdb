"""No user file is ever deleted: --out, replacing runs, sweep --restart, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from cli import app
from sim.errors import UserError
from sim.present.plots import CHARTS, NUMBERS_CHART, PACING_CHART
from sim.present.report import REPORT_FILE
from sim.store import atomic
from sim.store.results import RUN_FOLDER_DERIVED_FILES, check_replaceable, staged_directory

from .conftest import SCENARIOS
from .sweep_support import write_sweep

runner = CliRunner()
BASELINE = str(SCENARIOS / "baseline.toml")
FAST = ["--set", "calendar.days=1", "--set", "prospects.count=200", "--set", "team.reps=2",
        "--workers", "1", "-n", "2"]
DEAD_PID = 4194305  # above Linux's largest pid_max: never a running process


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a simulation starts: refusals must come first."""
    import sim.experiment.runs as runs

    def refuse(*_a, **_k):
        raise AssertionError("the simulation started")

    monkeypatch.setattr(runs, "run_experiment", refuse)
    monkeypatch.setattr(runs, "local_executor", refuse)


def test_a_folder_of_user_files_is_refused_before_simulating(tmp_path, no_simulation):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("precious")
    (mine / "sub" / "deep.csv").write_text("1,2")
    result = invoke("run", BASELINE, *FAST, "--out", mine)
    assert result.exit_code == 2
    assert "not a dialsim results folder" in result.output and str(mine) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert (mine / "notes.txt").read_text() == "precious"
    assert (mine / "sub" / "deep.csv").read_text() == "1,2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no staging left


@pytest.mark.parametrize("where", [".", "..", "sub/..", "{cwd}"])
def test_out_at_the_current_folder_or_a_parent_is_refused(tmp_path, monkeypatch, no_simulation,
                                                          where):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    scenario = work / "my.toml"
    scenario.write_text(Path(BASELINE).read_text())
    monkeypatch.chdir(work)
    result = invoke("run", scenario, *FAST, "--out", where.format(cwd=work))
    assert result.exit_code == 2
    assert "current folder or a parent" in result.output
    assert scenario.exists()


def test_an_earlier_run_is_replaced_and_says_so_but_not_with_user_files(tmp_path):
    out = tmp_path / "r"
    first = invoke("run", BASELINE, *FAST, "--out", out, "--seed", 1)
    assert first.exit_code == 0, first.output
    assert "replaced" not in first.output
    (out / "report.html").write_text("<p>made by dialsim report</p>")  # derived: replaceable
    second = invoke("run", BASELINE, *FAST, "--out", out, "--seed", 2)
    assert second.exit_code == 0, second.output
    assert f"replaced the earlier run in {out}" in second.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert not (out / "report.html").exists()  # the old run went as a whole
    (out / "my_analysis.ipynb").write_text("{}")
    third = invoke("run", BASELINE, *FAST, "--out", out, "--seed", 3)
    assert third.exit_code == 2
    assert "my_analysis.ipynb" in third.output
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2
    assert (out / "my_analysis.ipynb").exists()


def test_a_sweep_folder_or_a_fake_manifest_is_not_replaced_by_a_run(tmp_path, no_simulation):
    for kind, manifest in (("sweep", {"kind": "sweep", "results_schema_version": 1}),
                           ("list", []), ("null", None), ("other", {"kind": "photos"})):
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps(manifest))
        result = invoke("run", BASELINE, *FAST, "--out", folder)
        assert result.exit_code == 2, (kind, result.output)
        assert (folder / "manifest.json").exists()


def test_a_file_or_symlink_at_out_is_refused(tmp_path, no_simulation):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    (tmp_path / "link").symlink_to(target)
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "link", tmp_path / "file"):
        result = invoke("run", BASELINE, *FAST, "--out", out)
        assert result.exit_code == 2 and "not a folder" in result.output
    assert (target / "keep.txt").exists()


def test_an_empty_folder_is_used(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert check_replaceable(out) == "empty"
    result = invoke("run", BASELINE, *FAST, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").exists()


def test_the_derived_files_list_names_every_chart_and_the_report():
    assert {*CHARTS, PACING_CHART, NUMBERS_CHART, REPORT_FILE} == set(RUN_FOLDER_DERIVED_FILES)


def test_files_appearing_during_the_run_stop_the_swap(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    with pytest.raises(UserError, match="not a dialsim results folder"):
        with staged_directory(out) as stage:
            (stage / "manifest.json").write_text("{}")
            (out / "arrived_meanwhile.txt").write_text("x")
    assert (out / "arrived_meanwhile.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # the staging went


def test_staging_of_dead_processes_is_cleaned_by_the_next_run(tmp_path):
    dead_stage = tmp_path / f".r.{DEAD_PID}.0123abcd.tmp"
    (dead_stage / "_calls_parts").mkdir(parents=True)
    dead_old = tmp_path / f".r.{DEAD_PID}.89abcdef.old"
    dead_old.mkdir()
    live = tmp_path / f".r.{os.getppid()}.0123abcd.tmp"  # a live process's staging stays
    live.mkdir()
    lookalike = tmp_path / ".my.notes.tmp"  # not our pattern: stays
    lookalike.write_text("x")
    result = invoke("run", BASELINE, *FAST, "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert not dead_stage.exists() and not dead_old.exists()
    assert live.exists() and lookalike.exists()


def test_sweep_restart_removes_only_what_the_sweep_wrote(tmp_path):
    sweep_file = write_sweep(tmp_path, grid={"callbacks.p_callback": [0.01, 0.05]})
    out = tmp_path / "out"
    assert invoke("sweep", sweep_file, "--out", out, "--workers", 1, "-q").exit_code == 0
    assert invoke("plot", out).exit_code == 0
    charts = list((out / "plots").glob("sweep_*.png"))
    assert charts
    (out / "plots" / "my_slide.png").write_bytes(b"user's own chart")
    (out / "data" / "my_notes.txt").write_text("mine")
    (out / "README.txt").write_text("mine too")
    result = invoke("sweep", sweep_file, "--out", out, "--workers", 1, "-q", "--restart")
    assert result.exit_code == 0, result.output
    assert (out / "plots" / "my_slide.png").read_bytes() == b"user's own chart"
    assert (out / "data" / "my_notes.txt").read_text() == "mine"
    assert (out / "README.txt").exists()
    assert not any(chart.exists() for chart in charts)  # the old sweep's charts went
    assert len(list((out / "data").glob("point-*.parquet"))) == 2


def test_sweep_out_at_the_current_folder_is_refused(tmp_path, monkeypatch):
    sweep_file = write_sweep(tmp_path, grid={"callbacks.p_callback": [0.01]})
    monkeypatch.chdir(tmp_path)
    result = invoke("sweep", sweep_file, "--out", ".", "--workers", 1, "-q")
    assert result.exit_code == 2 and "current folder" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.toml"]


# --- the one atomic writer ------------------------------------------------------------


def test_every_writer_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "data.json"
    atomic.write_json_atomic({"a": 1}, path)

    def broken(tmp: Path):
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        atomic.write_atomic(path, broken)
    assert json.loads(path.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]
    atomic.write_text_atomic("héllo", tmp_path / "t.txt")
    atomic.write_bytes_atomic(b"\x00\x01", tmp_path / "b.bin")
    atomic.write_parquet_atomic(pa.table({"x": [1, 2]}), tmp_path / "t.parquet")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "data.json", "t.parquet",
                                                          "t.txt"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_user_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(UserError, match="cannot write: Permission denied"):
            atomic.write_bytes_atomic(b"x", folder / "f.bin")
    finally:
        folder.chmod(0o755)


def test_a_full_disk_is_one_user_error(tmp_path, monkeypatch):
    import errno

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "replace", full)
    with pytest.raises(UserError) as caught:
        atomic.write_json_atomic({"a": 1}, tmp_path / "m.json")
    assert str(caught.value) == f"{tmp_path / 'm.json'}: cannot write: No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_only_dead_processes_temporaries_match():
    assert atomic._TEMPORARY.match(atomic.temporary_name(Path("x/summary.parquet")).name)
    assert atomic._TEMPORARY.match(f".a.b.{DEAD_PID}.0123abcd.old")
    for name in (".a.tmp", "a.1.0123abcd.tmp", ".a.1.0123abcd.txt", ".a.x.0123abcd.tmp"):
        assert not atomic._TEMPORARY.match(name), name


def test_a_sweep_into_a_folder_it_cannot_write_is_one_line(tmp_path, monkeypatch):
    import builtins

    sweep_file = write_sweep(tmp_path, grid={"callbacks.p_callback": [0.01]})
    real_open = builtins.open

    def read_only(path, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", read_only)
    result = invoke("sweep", sweep_file, "--out", tmp_path / "out", "--workers", 1, "-q")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"error: {tmp_path / 'out' / '.lock'}: cannot write: Permission denied"
