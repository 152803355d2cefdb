"""Running sweeps: the dataset, resuming, refusing mixed results, failures, summary, plots."""

from __future__ import annotations

import json
import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import sim.experiment.sweep.run as sweep_module  # the runner looks run_replications up here
from cli import app
from sim.errors import UserError
from sim.experiment.executors import LocalProcessExecutor, SerialExecutor
from sim.analysis.metrics import SUMMARY_SCHEMA
from sim.analysis.stats import paired_difference, t_interval
from sim.experiment.sweep import SweepProgress, load_sweep, run_sweep
from sim.present.sweep_plots import plot_sweep

from .sweep_support import assert_same_sweep, read_dataset, write_sweep

runner = CliRunner()
P_CALLBACK = "callbacks.p_callback"
SILENT = "screening.answer_mult_per_silent_miss"
GRID = {P_CALLBACK: [0.005, 0.05], SILENT: [0.6, 1.0]}


class CountingExecutor(SerialExecutor):
    """Serial, but remembers which points it was asked to run."""

    def __init__(self):
        self.points: list[int] = []

    def map_unordered(self, fn, tasks, max_in_flight=None):
        for task in tasks:
            self.points.append(task.point_id)
            yield task, fn(task)


class ReversedExecutor(SerialExecutor):
    """Claims 4 workers (so points are split into 1-replication tasks) and hands the
    results back in reverse order: completion order must not reach the dataset."""

    workers = 4

    def map_unordered(self, fn, tasks, max_in_flight=None):
        done = [(task, fn(task)) for task in tasks]
        yield from reversed(done)


class StopAfter(SweepProgress):
    """Raises KeyboardInterrupt (as Ctrl-C would) once ``n`` points have finished."""

    def __init__(self, n: int):
        self.n = n

    def point_done(self, point, error):
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """A 2 x 2 grid run serially: the reference dataset of this module."""
    folder = tmp_path_factory.mktemp("grid")
    sweep = load_sweep(write_sweep(folder, grid=GRID))
    outcome = run_sweep(sweep, folder / "out", SerialExecutor())
    return sweep, outcome, folder / "out"


def test_dataset_layout_types_and_one_call_read(grid_run):
    sweep, outcome, out = grid_run
    assert outcome.ok and outcome.status == "complete" and outcome.done == 4
    files = sorted(p.name for p in (out / "data").iterdir())
    assert files == [f"point-{i:06d}.parquet" for i in range(4)]  # no values in names
    frame = pd.read_parquet(out / "data")  # the whole sweep in one call
    assert len(frame) == 4 * 2 * 3  # points x replications x strategies
    assert frame[P_CALLBACK].dtype == "float64" and frame["point_id"].dtype == "int32"
    assert set(SUMMARY_SCHEMA.names) <= set(frame.columns)
    for point in sweep.points:  # every row carries its point's typed parameter values
        rows = frame[frame["point_id"] == point.point_id]
        assert set(rows[P_CALLBACK]) == {point.values[P_CALLBACK]}
        assert set(rows[SILENT]) == {point.values[SILENT]}
        assert set(rows["point_hash"]) == {point.hash}
        assert sorted(rows["replication"].unique()) == [0, 1]
        assert set(rows["seed"]) == {7}
    points = pd.read_parquet(out / "points.parquet")
    assert list(points["status"]) == ["done"] * 4
    assert list(points[P_CALLBACK]) == [p.values[P_CALLBACK] for p in sweep.points]


def test_manifest_lists_expected_points_and_fingerprint(grid_run):
    sweep, _, out = grid_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["results_schema_version"] == 1
    assert manifest["status"] == "complete"
    assert manifest["fingerprint"] == sweep.fingerprint
    assert manifest["points_expected"] == 4 and manifest["points_done"] == 4
    assert [p["hash"] for p in manifest["points"]] == [p.hash for p in sweep.points]
    assert [p["key"] for p in manifest["parameters"]] == [P_CALLBACK, SILENT]
    assert manifest["base_scenario"]["prospects"]["count"] == 200


def test_summary_winner_and_paired_margin_match_the_data(grid_run):
    sweep, _, out = grid_run
    data = read_dataset(out).to_pylist()
    summary = pq.read_table(out / "sweep_summary.parquet").to_pylist()
    assert len(summary) == 4 * 3
    for point in sweep.points:
        values = {s: [r["connects_per_rep_hour"] for r in data
                      if r["point_id"] == point.point_id and r["strategy"] == s]
                  for s in sweep.strategies}
        means = {s: t_interval(v).mean for s, v in values.items()}
        rows = {r["strategy"]: r for r in summary if r["point_id"] == point.point_id}
        winner = max(sweep.strategies, key=lambda s: (means[s], -sweep.strategies.index(s)))
        ranked = sorted(sweep.strategies, key=lambda s: (-means[s], sweep.strategies.index(s)))
        margin = paired_difference(values[winner], values[ranked[1]])
        for strategy, row in rows.items():
            assert row["winner"] == winner and row["runner_up"] == ranked[1]
            assert row["is_winner"] == (strategy == winner)
            assert row["connects_per_rep_hour_mean"] == pytest.approx(means[strategy])
            assert row["margin_mean"] == pytest.approx(margin.mean)
            assert row["margin_ci95_low"] == pytest.approx(margin.low)
            assert row[P_CALLBACK] == point.values[P_CALLBACK]
        assert rows[winner]["margin_mean"] >= 0


def test_local_process_pool_gives_the_serial_dataset(grid_run, tmp_path):
    sweep, _, reference = grid_run
    with LocalProcessExecutor(2) as pool:  # other batching (1 replication per task) too
        outcome = run_sweep(sweep, tmp_path / "pool", pool)
    assert outcome.ok
    assert_same_sweep(reference, tmp_path / "pool")


def test_completion_order_and_batching_do_not_change_the_dataset(grid_run, tmp_path):
    sweep, _, reference = grid_run
    assert run_sweep(sweep, tmp_path / "reversed", ReversedExecutor()).ok
    assert_same_sweep(reference, tmp_path / "reversed")


def test_stop_and_resume_runs_only_the_rest_and_matches(grid_run, tmp_path):
    sweep, _, reference = grid_run
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep, out, SerialExecutor(), progress=StopAfter(2))
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert len(list((out / "data").glob("point-*.parquet"))) == 2
    statuses = pq.read_table(out / "points.parquet").column("status").to_pylist()
    assert statuses == ["done", "done", "pending", "pending"]
    # a crash: a temporary of a process that is gone (pid above Linux's pid_max)
    (out / "data" / ".point-000003.parquet.4194305.deadbeef.tmp").write_bytes(b"half a file")
    counting = CountingExecutor()
    outcome = run_sweep(sweep, out, counting)
    assert outcome.ok and outcome.skipped == 2 and outcome.ran == 2
    assert sorted(set(counting.points)) == [2, 3]  # finished points were not run again
    assert_same_sweep(reference, out)
    again = CountingExecutor()
    assert run_sweep(sweep, out, again).skipped == 4 and again.points == []


def test_a_changed_sweep_is_refused_then_restart_starts_over(grid_run, tmp_path):
    sweep, _, _ = grid_run
    out = tmp_path / "out"
    run_sweep(sweep, out, SerialExecutor())
    before = {p.name: p.read_bytes() for p in (out / "data").iterdir()}
    changed = write_sweep(tmp_path, grid={P_CALLBACK: [0.005, 0.02], SILENT: [0.6, 1.0]})
    result = runner.invoke(app, ["sweep", str(changed), "--out", str(out), "-q"])
    assert result.exit_code == 2
    assert "different sweep" in result.stderr and "--restart" in result.stderr
    assert {p.name: p.read_bytes() for p in (out / "data").iterdir()} == before  # untouched
    result = runner.invoke(app, ["sweep", str(changed), "--out", str(out), "-q", "--restart",
                                 "--workers", "1"])
    assert result.exit_code == 0, result.output
    values = set(pd.read_parquet(out / "data")[P_CALLBACK])
    assert values == {0.005, 0.02}  # nothing of the old sweep is mixed in


def test_refuses_a_folder_that_is_not_a_sweep(grid_run, tmp_path):
    sweep, _, _ = grid_run
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a sweep results folder"):
        run_sweep(sweep, tmp_path / "other", SerialExecutor())
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text(json.dumps({"kind": "run", "results_schema_version": 1}))
    with pytest.raises(UserError, match="holds a dialsim run"):
        run_sweep(sweep, run_dir, SerialExecutor(), restart=True)
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json"]


def test_invalid_point_is_reported_others_run_exit_1(tmp_path):
    path = write_sweep(tmp_path, grid={P_CALLBACK: [0.01, 1.5, 0.02]})
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(path), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 1, result.output
    assert "point 1 (callbacks.p_callback=1.5)" in result.stderr
    assert "less than or equal to 1" in result.stderr
    points = pq.read_table(out / "points.parquet").to_pylist()
    assert [p["status"] for p in points] == ["done", "invalid", "done"]
    assert "1.5" in points[1]["error"]
    assert sorted(set(pd.read_parquet(out / "data")["point_id"])) == [0, 2]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["failures"][0]["values"] == {P_CALLBACK: 1.5}


def test_point_that_raises_is_reported_others_still_run(tmp_path, monkeypatch):
    real = sweep_module.run_replications

    def flaky(batch):
        if batch.scenario["callbacks"]["p_callback"] == 0.02:
            raise RuntimeError("simulated crash")
        return real(batch)

    monkeypatch.setattr(sweep_module, "run_replications", flaky)
    sweep = load_sweep(write_sweep(tmp_path, grid={P_CALLBACK: [0.01, 0.02, 0.03]}))
    outcome = run_sweep(sweep, tmp_path / "out", SerialExecutor())
    assert not outcome.ok and outcome.done == 2
    [(point, error)] = outcome.failed
    assert point.values == {P_CALLBACK: 0.02} and "RuntimeError: simulated crash" in error
    statuses = pq.read_table(tmp_path / "out" / "points.parquet").column("status").to_pylist()
    assert statuses == ["done", "failed", "done"]
    monkeypatch.setattr(sweep_module, "run_replications", real)
    outcome = run_sweep(sweep, tmp_path / "out", SerialExecutor())  # a re-run retries it
    assert outcome.ok and outcome.skipped == 2 and outcome.ran == 1


def test_cli_table_shows_each_strategy_the_winner_and_margin(grid_run, tmp_path):
    sweep, _, reference = grid_run
    out = tmp_path / "out"
    result = runner.invoke(app, ["sweep", str(sweep.source), "--out", str(out), "--workers", "1",
                                 "--wide"])
    assert result.exit_code == 0, result.output
    summary = pq.read_table(reference / "sweep_summary.parquet").to_pylist()
    for name in ("winner", "margin", *sweep.strategies):
        assert name in result.stdout
    for row in summary:
        assert f"{row['connects_per_rep_hour_mean']:.2f} ± " in result.stdout
        if row["is_winner"]:
            assert f"{row['margin_mean']:+.2f}" in result.stdout
    assert f"4 of 4 points done" in result.stderr
    rerun = runner.invoke(app, ["sweep", str(sweep.source), "--out", str(out), "--workers", "1"])
    assert rerun.exit_code == 0 and "4 from an earlier run" in rerun.stderr


def test_plot_one_parameter_lines_and_two_parameter_heat_map(grid_run, tmp_path):
    _, _, out = grid_run
    [heat] = plot_sweep(out, tmp_path / "plots2")
    assert heat.name.startswith("sweep_margin") and heat.stat().st_size > 10_000
    one = load_sweep(write_sweep(tmp_path, grid={P_CALLBACK: [0.0, 0.05, 0.2]},
                                 strategies=["never", "always"]))
    run_sweep(one, tmp_path / "one", SerialExecutor())
    [lines] = plot_sweep(tmp_path / "one")
    assert lines.parent == tmp_path / "one" / "plots" and lines.name.startswith("sweep_lines")
    import matplotlib.image as mpimg

    assert mpimg.imread(lines).shape[0] > 300


def test_plot_scattered_sample_and_empty_sweep(tmp_path):
    sample = {"size": 4, "seed": 2, "ranges": {
        P_CALLBACK: {"low": 0.001, "high": 0.2, "scale": "log"}, SILENT: {"low": 0.5, "high": 1}}}
    sweep = load_sweep(write_sweep(tmp_path, sample=sample, replications=1,
                                   strategies=["never", "always"]))
    with pytest.raises(KeyboardInterrupt):  # nothing finished yet: a clear error to plot
        run_sweep(sweep, tmp_path / "out", SerialExecutor(), progress=_StopAtStart())
    with pytest.raises(UserError, match="no finished points"):
        plot_sweep(tmp_path / "out")
    run_sweep(sweep, tmp_path / "out", SerialExecutor())
    [path] = plot_sweep(tmp_path / "out")
    assert path.stat().st_size > 10_000
    summary = pq.read_table(tmp_path / "out" / "sweep_summary.parquet")
    assert all(math.isnan(x) for x in summary.column("margin_ci95_low").to_pylist())  # n = 1


class _StopAtStart(SweepProgress):
    def start(self, to_run, skipped, invalid):
        raise KeyboardInterrupt


def test_point_files_have_one_schema(grid_run):
    sweep, _, out = grid_run
    schemas = {pq.read_schema(p).remove_metadata() for p in (out / "data").iterdir()}
    assert len(schemas) == 1
    [schema] = schemas
    assert schema.field(P_CALLBACK).type == pa.float64()
    assert schema.names[:4] == ["point_id", "point_hash", P_CALLBACK, SILENT]


def test_dialsim_plot_on_a_sweep_folder_draws_the_sweep_charts(grid_run):
    _, _, out = grid_run
    result = runner.invoke(app, ["plot", str(out)])
    assert result.exit_code == 0, result.output
    [printed] = [line for line in result.stdout.splitlines() if line.endswith(".png")]
    assert "sweep_margin" in printed and (out / "plots").is_dir()
    assert not list((out / "plots").glob(".*"))


def test_docs_describe_every_column_of_the_sweep_tables(grid_run):
    from .conftest import ROOT

    _, _, out = grid_run
    docs = (ROOT / "docs" / "sweeps.md").read_text()
    swept = {P_CALLBACK, SILENT}
    for name in ("points.parquet", "sweep_summary.parquet"):
        for column in pq.read_schema(out / name).names:
            if column not in swept:
                assert f"| `{column}` |" in docs, (name, column)
    manifest = json.loads((out / "manifest.json").read_text())
    for key in manifest:
        assert f"`{key}`" in docs, key
