"""dialsim sensitivity: a belief with no effect scores zero, a dominant one ranks first,
the results resume, and bad input is one line with nothing written."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import app
from sim.errors import UserError
from sim.experiment.executors import SerialExecutor
from sim.experiment.sensitivity import plan_sensitivity, run_sensitivity

from .conftest import SCENARIOS

runner = CliRunner()
BASELINE = SCENARIOS / "baseline.toml"
TINY = ["prospects.count=300", "calendar.days=2", "team.reps=1"]
PICKUP = "prospects.segments.0.p_pickup=0.05:0.5"  # dominant: every connect needs a pick-up
# no effect: the baseline drops recorded messages, so the wait for the beep is never spent
BEEP = "voicemail.beep_wait_s=5:30"
SILENT = "screening.answer_mult_per_silent_miss=0.7:1"


class Counting(SerialExecutor):
    def __init__(self):
        self.tasks = 0

    def map_unordered(self, fn, tasks, max_in_flight=None, on_progress=None):
        for task in tasks:
            self.tasks += 1
            yield task, fn(task)


def _plan(method="morris", size=4, vary=(PICKUP, BEEP, SILENT)):
    return plan_sensitivity(BASELINE, list(vary), method, size=size, overrides=TINY,
                            strategies=["never", "always"], replications=2, seed=3)


def _index(table, output, parameter, index):
    rows = [r for r in table.to_pylist() if r["output"] == output
            and r["parameter"] == parameter and r["index"] == index]
    assert len(rows) == 1
    return rows[0]


def test_morris_null_parameter_is_zero_and_dominant_ranks_first(tmp_path):
    plan = _plan()
    result = run_sensitivity(plan, tmp_path / "s", SerialExecutor())
    assert result.status == "complete"
    indices = pq.read_table(tmp_path / "s" / "indices.parquet")
    for output in ("never", "always", "never - always"):
        beep = _index(indices, output, "voicemail.beep_wait_s", "mu_star")
        # common random numbers: changing a key the model never reads changes nothing, exactly
        assert beep["value"] == 0 and beep["ci95_high"] == 0, beep
        assert beep["rank"] == 3
    for output in ("never", "always"):
        pickup = _index(indices, output, "prospects.segments.0.p_pickup", "mu_star")
        assert pickup["rank"] == 1, pickup
        assert pickup["ci95_low"] > 0
    # the design really moved the dominant key over its range
    outputs = pq.read_table(tmp_path / "s" / "outputs.parquet").to_pandas()
    assert outputs["prospects.segments.0.p_pickup"].min() == pytest.approx(0.05)
    assert outputs["prospects.segments.0.p_pickup"].max() == pytest.approx(0.5)
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["kind"] == "sensitivity" and manifest["status"] == "complete"
    assert any("p_pickup" in line for line in manifest["what_decides"])
    assert not any("beep_wait" in line for line in manifest["what_decides"])


def test_sobol_null_parameter_has_zero_total_index(tmp_path):
    plan = _plan("sobol", size=8, vary=(PICKUP, BEEP))
    result = run_sensitivity(plan, tmp_path / "s", SerialExecutor())
    table = result.indices
    for output in ("never", "always"):
        assert _index(table, output, "voicemail.beep_wait_s", "ST")["value"] == 0
        assert _index(table, output, "prospects.segments.0.p_pickup", "ST")["rank"] == 1
        assert _index(table, output, "prospects.segments.0.p_pickup", "ST")["value"] > 0.5


def test_resume_runs_nothing_twice_and_gives_the_same_indices(tmp_path):
    plan = _plan(size=3, vary=(PICKUP, BEEP))
    first = Counting()
    a = run_sensitivity(plan, tmp_path / "s", first)
    assert first.tasks > 0
    # lose one point, as if the run had been stopped before it was written
    (tmp_path / "s" / "evaluations" / "data" / "point-000002.parquet").unlink()
    again = Counting()
    b = run_sensitivity(_plan(size=3, vary=(PICKUP, BEEP)), tmp_path / "s", again)
    assert 0 < again.tasks < first.tasks
    assert a.indices.to_pandas().equals(b.indices.to_pandas())  # NaN where SALib gives no CI


def test_cli_writes_results_and_chart(tmp_path):
    out = tmp_path / "s"
    args = ["sensitivity", str(BASELINE), "--vary", PICKUP, "--vary", BEEP, "--size", "2",
            "-n", "2", "-s", "never", "-s", "always", "--workers", "1", "--out", str(out), "-q"]
    for item in TINY:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "plots" / "sensitivity_morris.png").stat().st_size > 10_000
    schema = pq.read_schema(out / "indices.parquet")
    assert schema.field("value").metadata[b"unit"]
    (out / "plots" / "sensitivity_morris.png").unlink()
    plot = runner.invoke(app, ["plot", str(out)])
    assert plot.exit_code == 0 and (out / "plots" / "sensitivity_morris.png").exists(), plot.output
    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.output
    page = (out / "report.html").read_text()
    assert "What decides the answer here" in page
    assert "decided by prospects.segments.0.p_pickup" in page  # the dominant belief, named
    assert "data:image/png;base64," in page


@pytest.mark.parametrize("args, message", [
    (["--vary", "callbacks.p_calback=0:1"], "--vary callbacks.p_calback=0:1: unknown key path"),
    (["--vary", "callbacks.p_callback=0.5:0.1"], "LOW (0.5) must be below HIGH (0.1)"),
    (["--vary", "callbacks.p_callback=0.1"], "expected LOW:HIGH"),
    (["--vary", "voicemail.drop_mode=0:1"], "is not a number"),
    (["--vary", "experiment.seed=1:5"], "cannot be varied"),
    (["--vary", "callbacks.p_callback=0:2"], "not a valid scenario"),
    (["--vary", "callbacks.p_callback=0:0.1", "--method", "fast"], "--method fast"),
    (["--vary", "callbacks.p_callback=0:0.1", "--vary", BEEP, "--method", "sobol",
      "--size", "6"], "power of two"),
    (["--vary", "callbacks.p_callback=0:0.1", "--objective", "connects_per_hour"], "--objective"),
])
def test_bad_input_is_one_line_and_nothing_written(tmp_path, args, message):
    out = tmp_path / "s"
    result = runner.invoke(app, ["sensitivity", str(BASELINE), *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
    assert not out.exists()


def test_refuses_a_folder_holding_something_else(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"kind": "run"}))
    with pytest.raises(UserError, match="holds a dialsim run"):
        run_sensitivity(_plan(size=2, vary=(PICKUP, BEEP)), out, SerialExecutor())
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


def test_docs_list_every_indices_column():
    from sim.experiment.sensitivity import INDEX_SCHEMA

    doc = (SCENARIOS.parent / "docs" / "sensitivity.md").read_text()
    for name in INDEX_SCHEMA.names:
        assert f"`{name}`" in doc, name


def test_an_interrupted_run_says_so_and_the_same_command_finishes_it(tmp_path):
    from sim.experiment.sweep import run_sweep

    calls = []

    def stopped_midway(sweep, folder, executor, restart, label):
        calls.append(1)
        run_sweep(sweep, folder, executor, restart=restart, executor_label=label)
        raise KeyboardInterrupt  # Ctrl-C after the points, before the analysis

    out = tmp_path / "s"
    with pytest.raises(KeyboardInterrupt):
        run_sensitivity(_plan(size=2, vary=(PICKUP, BEEP)), out, SerialExecutor(),
                        run_points=stopped_midway)
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert not (out / "indices.parquet").exists()
    again = Counting()
    result = run_sensitivity(_plan(size=2, vary=(PICKUP, BEEP)), out, again)
    assert result.status == "complete" and again.tasks == 0  # nothing simulated twice
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
