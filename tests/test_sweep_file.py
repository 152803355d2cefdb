"""Sweep files: the schema, clear errors before any work, and the design they produce."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from sim.errors import UserError
from sim.scenario.schema import build_scenario, read_scenario_file
from sim.experiment.sweep import load_sweep, point_hash, replications_per_task

from .conftest import SCENARIOS
from .sweep_support import BASELINE, write_sweep

runner = CliRunner()
P_CALLBACK = "callbacks.p_callback"


def sweep_cli(*args):
    return runner.invoke(app, ["sweep", *[str(a) for a in args]])


BAD_FILES = {
    "unknown key path": (
        dict(grid={"callbacks.p_calback": [0.1]}),
        ["grid.callbacks.p_calback", "unknown key path", "p_calback"]),
    "unknown section": (
        dict(grid={"callbakcs.p_callback": [0.1]}),
        ["grid.callbakcs.p_callback", "unknown key path", "callbakcs"]),
    "unknown range key": (
        dict(sample={"size": 3, "ranges": {"team.repz": {"low": 1, "high": 3}}}),
        ["sample.ranges.team.repz", "unknown key path"]),
    "empty list": (
        dict(grid={P_CALLBACK: []}),
        [f"grid.{P_CALLBACK}", "empty list"]),
    "range low above high": (
        dict(sample={"size": 3, "ranges": {P_CALLBACK: {"low": 0.5, "high": 0.1}}}),
        [f"sample.ranges.{P_CALLBACK}", "low (0.5) must be below high (0.1)", "[set]"]),
    "sample size zero": (
        dict(sample={"size": 0, "ranges": {P_CALLBACK: {"low": 0.1, "high": 0.5}}}),
        ["sample.size", "greater than or equal to 1"]),
    "index past the list": (
        dict(grid={"prospects.segments.3.p_pickup": [0.2]}),
        ["grid.prospects.segments.3.p_pickup", "list of 1 items"]),
    "seed is not a parameter": (
        dict(grid={"experiment.seed": [1, 2]}),
        ["grid.experiment.seed", "cannot be varied"]),
    "unknown top-level key": (
        dict(grid={P_CALLBACK: [0.1]}, replicatoins=3),
        ["replicatoins: unknown key"]),
    "nothing varies": (
        dict(),
        ["nothing to vary"]),
    "a key varied twice": (
        dict(grid={P_CALLBACK: [0.1]}, set_={P_CALLBACK: 0.2}),
        [f"set.{P_CALLBACK}", "overlaps"]),
    "unknown strategy": (
        dict(grid={P_CALLBACK: [0.1]}, strategies=["never", "sometimes"]),
        ["strategies", "'sometimes'"]),
    "log range from zero": (
        dict(sample={"size": 2, "ranges": {P_CALLBACK: {"low": 0, "high": 0.1, "scale": "log"}}}),
        [f"sample.ranges.{P_CALLBACK}", "low > 0"]),
    "whole-number key with a fractional bound": (
        dict(sample={"size": 2, "ranges": {"team.lines_per_rep": {"low": 1.5, "high": 3}}}),
        ["sample.ranges.team.lines_per_rep", "whole numbers"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_sweep_file_is_one_clear_line_and_exit_2_before_any_work(tmp_path, case):
    content, expected = BAD_FILES[case]
    path = write_sweep(tmp_path, **content)
    out = tmp_path / "out"
    result = sweep_cli(path, "--out", out, "--workers", 1)
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith(f"error: {path}: ")
    for fragment in expected:
        assert fragment in message, (fragment, message)
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing written, nothing run


def test_missing_base_and_schema_version_are_clear(tmp_path):
    path = write_sweep(tmp_path, grid={P_CALLBACK: [0.1]}, base="no_such.toml")
    result = sweep_cli(path, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "base: no such scenario file" in result.stderr
    path.write_text('schema_version = 7\nname = "x"\nbase = "b.toml"\n')
    result = sweep_cli(path, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "schema_version" in result.stderr
    result = sweep_cli(tmp_path / "missing.toml")
    assert result.exit_code == 2 and "no such sweep file" in result.stderr


def test_scheduler_and_workers_options_are_checked(tmp_path):
    path = write_sweep(tmp_path, grid={P_CALLBACK: [0.1]})
    result = sweep_cli(path, "--scheduler", "tcp://127.0.0.1:1", "--workers", 2)
    assert result.exit_code == 2 and "--workers" in result.stderr
    result = sweep_cli(path, "--scheduler", "127.0.0.1:8786")
    assert result.exit_code == 2 and "tcp://HOST:PORT" in result.stderr


def test_full_factorial_order_and_values(tmp_path):
    grid = {P_CALLBACK: [0.005, 0.02, 0.05], "team.lines_per_rep": [1, 2]}
    sweep = load_sweep(write_sweep(tmp_path, grid=grid))
    assert [p.values for p in sweep.points] == [
        {P_CALLBACK: c, "team.lines_per_rep": k} for c in grid[P_CALLBACK] for k in (1, 2)]
    assert [p.point_id for p in sweep.points] == list(range(6))
    for point in sweep.points:  # each point is the base with its values applied, validated
        assert point.error is None
        assert point.scenario["callbacks"]["p_callback"] == point.values[P_CALLBACK]
        assert point.scenario["team"]["lines_per_rep"] == point.values["team.lines_per_rep"]
        assert point.scenario["prospects"]["count"] == 200  # [set] applied
        assert point.scenario["experiment"]["seed"] == 7
    assert len({p.hash for p in sweep.points}) == 6


def test_latin_hypercube_is_stratified_seeded_and_typed(tmp_path):
    n = 8
    sample = {"size": n, "seed": 3, "ranges": {
        P_CALLBACK: {"low": 0.001, "high": 0.1, "scale": "log"},
        "screening.answer_mult_per_silent_miss": {"low": 0.5, "high": 1.0},
        "cadence.max_attempts": {"low": 1, "high": 8}}}
    sweep = load_sweep(write_sweep(tmp_path, sample=sample))
    values = {key: [p.values[key] for p in sweep.points] for key in sample["ranges"]}
    assert len(sweep.points) == n
    # One value in each of the n equal strata of every range (log strata for a log range).
    cb = (np.log(values[P_CALLBACK]) - math.log(0.001)) / (math.log(0.1) - math.log(0.001))
    sm = (np.array(values["screening.answer_mult_per_silent_miss"]) - 0.5) / 0.5
    for unit in (cb, sm):
        assert sorted(np.minimum((unit * n).astype(int), n - 1)) == list(range(n))
    assert sorted(values["cadence.max_attempts"]) == list(range(1, 9))  # integer key: whole numbers
    assert all(type(v) is int for v in values["cadence.max_attempts"])
    again = load_sweep(write_sweep(tmp_path, sample=sample, file="again.toml"))
    assert [p.values for p in again.points] == [p.values for p in sweep.points]
    other = dict(sample, seed=4)
    moved = load_sweep(write_sweep(tmp_path, sample=other, file="other.toml"))
    assert [p.values for p in moved.points] != [p.values for p in sweep.points]


def test_grid_and_sample_cross_and_repeats_are_dropped(tmp_path):
    sample = {"size": 6, "seed": 1, "ranges": {"cadence.max_attempts": {"low": 1, "high": 2}}}
    sweep = load_sweep(write_sweep(tmp_path, grid={P_CALLBACK: [0.01, 0.02]}, sample=sample))
    # 2 reps values can only make 2 distinct rows per grid value; the rest are repeats.
    assert len(sweep.points) == 4 and sweep.duplicates_dropped == 8
    assert {(p.values[P_CALLBACK], p.values["cadence.max_attempts"]) for p in sweep.points} == {
        (0.01, 1), (0.01, 2), (0.02, 1), (0.02, 2)}


def test_nested_tables_mean_the_same_as_quoted_key_paths(tmp_path):
    quoted = tmp_path / "quoted.toml"
    quoted.write_text(f'schema_version = 1\nname = "q"\nbase = "{BASELINE}"\n'
                      '[grid]\n"callbacks.p_callback" = [0.01, 0.02]\n'
                      '[sample]\nsize = 2\nranges."team.reps" = {low = 1, high = 4}\n')
    nested = tmp_path / "nested.toml"
    nested.write_text(f'schema_version = 1\nname = "q"\nbase = "{BASELINE}"\n'
                      '[grid]\ncallbacks.p_callback = [0.01, 0.02]\n'
                      '[sample]\nsize = 2\nranges.team.reps = {low = 1, high = 4}\n')
    assert load_sweep(quoted).fingerprint == load_sweep(nested).fingerprint


def test_invalid_combination_is_a_point_error_not_a_file_error(tmp_path):
    sweep = load_sweep(write_sweep(tmp_path, grid={P_CALLBACK: [0.01, 1.5]}))
    good, bad = sweep.points
    assert good.error is None and good.hash
    assert bad.hash is None and "callbacks.p_callback" in bad.error and "1.5" in bad.error


def test_point_hash_follows_everything_that_changes_numbers(tmp_path):
    base = build_scenario(read_scenario_file(BASELINE)).resolved()
    strategies = ("never", "always")
    same = point_hash(base, strategies)
    renamed = dict(base, name="other", description="labels only")
    assert point_hash(renamed, strategies) == same
    changed = dict(base, experiment=dict(base["experiment"], seed=base["experiment"]["seed"] + 1))
    assert point_hash(changed, strategies) != same
    assert point_hash(base, ("never",)) != same


def test_fingerprint_changes_with_the_design_not_with_labels(tmp_path):
    grid = {P_CALLBACK: [0.01, 0.02]}
    a = load_sweep(write_sweep(tmp_path, grid=grid, file="a.toml"))
    b = load_sweep(write_sweep(tmp_path, grid=grid, description="notes", file="b.toml"))
    c = load_sweep(write_sweep(tmp_path, grid={P_CALLBACK: [0.01, 0.03]}, file="c.toml"))
    d = load_sweep(write_sweep(tmp_path, grid=grid, set_={"team.reps": 3}, file="d.toml"))
    e = load_sweep(write_sweep(tmp_path, grid=grid, replications=3, file="e.toml"))
    assert a.fingerprint == b.fingerprint
    assert len({a.fingerprint, c.fingerprint, d.fingerprint, e.fingerprint}) == 4


def test_cli_overrides_apply_after_the_files_set(tmp_path):
    path = write_sweep(tmp_path, grid={P_CALLBACK: [0.01]})
    sweep = load_sweep(path, ["team.reps=3"])
    assert sweep.points[0].scenario["team"]["reps"] == 3
    with pytest.raises(UserError, match="overlaps"):
        load_sweep(path, ["callbacks.p_callback=0.2"])


def test_replications_per_task_keeps_workers_busy():
    assert replications_per_task(10, points=100, workers=2) == 10  # whole points
    assert replications_per_task(10, points=2, workers=2) == 3  # split: 8 tasks wanted
    assert replications_per_task(1, points=1, workers=8) == 1


@pytest.mark.parametrize("name", ["sweep_callback_vs_screening.toml",
                                  "sweep_lines_vs_answer_rate.toml"])
def test_example_sweeps_are_valid(name):
    sweep = load_sweep(SCENARIOS / name)
    assert len(sweep.parameters) == 2
    assert sweep.points and all(p.error is None for p in sweep.points)
    assert len(sweep.points) * sweep.replications <= 200  # they run in minutes, not hours
    result = sweep_cli(SCENARIOS / name, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "nothing is simulated" in result.stdout
