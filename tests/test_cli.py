"""The command line, through typer's test runner and as the installed `dialsim` command."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import app
from sim.analysis.metrics import CALLS_SCHEMA, METRIC_NAMES, SUMMARY_SCHEMA
from sim.analysis.observables import OBSERVABLE_NAMES

from .conftest import SCENARIOS

runner = CliRunner()
BASELINE = str(SCENARIOS / "baseline.toml")
FAST = ["--set", "calendar.days=1", "--set", "prospects.count=300", "--set", "team.reps=2"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_run_writes_summary_timeline_and_manifest(tmp_path):
    out = tmp_path / "run"
    result = invoke("run", BASELINE, "-n", 3, "--seed", 5, "--out", out, "--workers", 1, *FAST)
    assert result.exit_code == 0, result.output
    for strategy in ("never", "always", "rotate", "first_2"):
        assert strategy in result.output
    summary = pq.read_table(out / "summary.parquet")
    assert summary.schema.names == SUMMARY_SCHEMA.names + list(OBSERVABLE_NAMES)
    assert summary.num_rows == 3 * 4
    assert sorted(set(summary.column("replication").to_pylist())) == [0, 1, 2]
    assert set(summary.column("seed").to_pylist()) == {5}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["replications"] == 3
    assert manifest["scenario"]["calendar"]["days"] == 1  # the override is in the resolved scenario
    assert manifest["scenario"]["callbacks"]["p_listen"] == 0.5  # defaults are filled in
    assert {"dialsim", "python", "simpy", "numpy"} <= set(manifest["versions"])
    assert manifest["versions"]["kernel"] in ("compiled", "python")
    assert manifest["timings_s"]["simulate"] > 0
    assert manifest["command"][0]
    timeline = pq.read_table(out / "timeline.parquet")
    assert timeline.num_rows == 3 * 4 * 24
    assert not list(tmp_path.glob(".*"))  # no temporary folders left behind


def test_run_strategy_subset_and_json(tmp_path):
    result = invoke("run", BASELINE, "-n", 2, "--out", tmp_path / "r", "-s", "never", "-s", "rotate",
                    "--json", *FAST)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data["strategies"]) == ["never", "rotate"]
    cph = data["strategies"]["rotate"]["connects_per_rep_hour"]
    assert cph["ci95_low"] <= cph["mean"] <= cph["ci95_high"]


def test_quiet_prints_nothing_on_stdout(tmp_path):
    result = invoke("run", BASELINE, "-n", 1, "--out", tmp_path / "r", "--quiet", *FAST)
    assert result.exit_code == 0
    assert result.stdout == ""


def test_calls_log_has_one_row_per_dial(tmp_path):
    out = tmp_path / "r"
    result = invoke("run", BASELINE, "-n", 2, "--out", out, "--calls", "--quiet", *FAST)
    assert result.exit_code == 0, result.output
    calls = pq.read_table(out / "calls.parquet")
    summary = pq.read_table(out / "summary.parquet").to_pylist()
    assert calls.schema.names == CALLS_SCHEMA.names
    rows = calls.select(["strategy", "replication", "direction"]).to_pylist()
    for row in summary:
        n_out = sum(1 for r in rows if r["strategy"] == row["strategy"]
                    and r["replication"] == row["replication"] and r["direction"] == "outbound")
        assert n_out == row["dials"]
    assert not (out / "_calls_parts").exists()


def test_validate_prints_resolved_parameters():
    result = invoke("validate", BASELINE)
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert "answer_mult_per_silent_miss = 0.85" in result.output
    assert "[dialer.amd]" in result.output  # defaults appear


def test_new_writes_a_starter_that_runs(tmp_path):
    path = tmp_path / "mine.toml"
    assert invoke("new", path).exit_code == 0
    again = invoke("new", path)
    assert again.exit_code == 2 and "already exists" in again.output
    result = invoke("run", path, "-n", 1, "--out", tmp_path / "r", "--quiet", *FAST)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, fragment", [
    (["run", "nope.toml"], "nope.toml: no such scenario file"),
    (["run", BASELINE, "--set", "team.repz=3"], "--set team.repz=3: team.repz: unknown key"),
    (["run", BASELINE, "--set", "callbacks.p_listen=1.5"], "callbacks.p_listen"),
    (["run", BASELINE, "--set", "channels.email.p_reply=2"], "channels.email.p_reply"),
    (["run", BASELINE, "--set", "channels.second_number.switch_after_misses=0"],
     "channels.second_number.switch_after_misses"),
    (["run", BASELINE, "--strategy", "sometimes"], "--strategy 'sometimes': not in the scenario"),
    (["validate", str(Path(__file__).parent / "fixtures" / "bad" / "unknown_key.toml")], "team.repz: unknown key"),
])
def test_user_errors_exit_2_and_write_nothing(tmp_path, args, fragment):
    out = tmp_path / "results" / "x"
    result = invoke(*args, "--out", out) if args[0] == "run" else invoke(*args)
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "results").exists()


def test_a_bad_engine_choice_exits_2_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALSIM_ENGINE", "turbo")
    out = tmp_path / "results" / "x"
    result = invoke("run", BASELINE, "-n", 1, "--out", out, *FAST)
    assert result.exit_code == 2, result.output
    assert "DIALSIM_ENGINE='turbo': must be one of auto, compiled, python" in " ".join(result.output.split())
    assert not (tmp_path / "results").exists()


def test_failed_run_leaves_previous_results_untouched(tmp_path, monkeypatch):
    out = tmp_path / "r"
    assert invoke("run", BASELINE, "-n", 1, "--out", out, "--quiet", *FAST).exit_code == 0
    before = (out / "summary.parquet").read_bytes()

    import sim.experiment.runs

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.experiment.runs, "run_experiment", boom)
    result = invoke("run", BASELINE, "-n", 1, "--out", out, "--quiet", "--seed", 99, *FAST)
    assert result.exit_code != 0
    assert (out / "summary.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no half-written sibling


def _installed_dialsim() -> str:
    candidate = Path(sys.executable).parent / "dialsim"
    return str(candidate) if candidate.exists() else (shutil.which("dialsim") or "")


@pytest.mark.slow
def test_installed_command_runs_as_a_subprocess(tmp_path):
    exe = _installed_dialsim()
    assert exe, "the dialsim command must be installed (pip install -e .)"
    out = tmp_path / "r"
    proc = subprocess.run([exe, "run", BASELINE, "-n", "2", "--out", str(out), *FAST],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "per rep-h" in proc.stdout and "Campaign totals" in proc.stdout
    assert (out / "manifest.json").exists()
    bad = subprocess.run([exe, "run", str(tmp_path / "missing.toml")], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2
    assert "no such scenario file" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("doc", ["README.md", "docs/results.md"])
def test_summary_columns_are_all_documented(doc):
    text = (Path(__file__).resolve().parents[1] / doc).read_text()
    for name in ["strategy", "replication", "seed", *METRIC_NAMES, *OBSERVABLE_NAMES]:
        assert f"| `{name}` |" in text, f"summary column {name} is not documented in {doc}"
