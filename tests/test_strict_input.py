"""Strict input: no coercion, finite bounded numbers, sane files, capped errors and counts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from sim.errors import UserError
from sim.experiment import preflight
from sim.scenario.distributions import Exponential, Fixed, LogNormal, Uniform
from sim.scenario.schema import (
    MAX_ERROR_LINES,
    MAX_INPUT_BYTES,
    MAX_NESTING,
    load_scenario,
    read_scenario_file,
)

from .conftest import SCENARIOS, make_scenario

runner = CliRunner()
BASELINE = SCENARIOS / "baseline.toml"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def refused(*overrides: str) -> str:
    with pytest.raises(UserError) as caught:
        load_scenario(BASELINE, list(overrides))
    return str(caught.value)


@pytest.mark.parametrize("override, key", [
    ("team.reps=true", "team.reps"),
    ('team.reps="4"', "team.reps"),
    ("team.reps=4.0", "team.reps"),
    ('caller_id.enabled="yes"', "caller_id.enabled"),
    ("caller_id.enabled=1", "caller_id.enabled"),
    ("callbacks.p_listen=true", "callbacks.p_listen"),
    ('callbacks.p_listen="0.5"', "callbacks.p_listen"),
    ('conversation.talk_s={dist="fixed", value=true}', "conversation.talk_s"),
    ("schema_version=true", "schema_version"),
    ('experiment.seed="7"', "experiment.seed"),
])
def test_no_bool_or_string_is_taken_for_a_number(override, key):
    message = refused(override)
    assert key in message and len(message.splitlines()) == 1


def test_an_integer_is_fine_where_a_real_number_is_expected():
    assert make_scenario("callbacks.p_listen=1").callbacks.p_listen == 1.0
    assert make_scenario("conversation.wrap_s=45").conversation.wrap_s.value == 45.0


@pytest.mark.parametrize("override", [
    "conversation.talk_s=inf", "conversation.talk_s=nan", "conversation.talk_s=1e300",
    "conversation.talk_s=28801", "team.research_s=14401", "dialer.ring_timeout_s=1e6",
    "callbacks.delay_h=8761", "cadence.min_gap_h=inf", "cadence.min_gap_h=1e300",
    "callbacks.return_call_half_life_h=1e300", "prospects.segments.0.weight=inf",
    "prospects.segments.0.weight=1e300", "prospects.time_zones.0.weight=nan",
    "prospects.segments.0.reachability_concentration=inf",
    'team.research_s={dist="exponential", mean=3600}',  # its tail passes 4 h
    'team.research_s={dist="lognormal", median=1000, sigma=4}',
    'team.research_s={dist="uniform", low=0, high=1e9}',
    'conversation.talk_s={dist="lognormal", median=85, sigma=6}',
    "prospects.hourly_availability=[1e300,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]",
])
def test_every_duration_and_weight_is_finite_and_bounded(override):
    assert override.split("=", 1)[0] in refused(override)


def test_the_bounds_are_where_the_docs_say():
    assert make_scenario("team.research_s=14400").team.research_s.value == 14400
    assert make_scenario("conversation.talk_s=28800").conversation.talk_s.value == 28800
    assert make_scenario("callbacks.delay_h=8760").callbacks.delay_h.value == 8760
    # a long tail is fine with a max that keeps it under the cap
    sc = make_scenario('team.research_s={dist="lognormal", median=1000, sigma=4, max=14400}')
    assert sc.team.research_s.max == 14400


def test_quantiles_are_the_closed_forms():
    import math
    from statistics import NormalDist

    q = 1 - 1e-9
    assert Fixed(value=3).quantile(q) == 3
    assert Uniform(dist="uniform", low=1, high=5).quantile(0.5) == 3
    assert Exponential(dist="exponential", mean=2).quantile(q) == pytest.approx(2 * math.log(1e9))
    z = NormalDist().inv_cdf(q)
    assert LogNormal(dist="lognormal", median=10, sigma=1).quantile(q) == pytest.approx(
        10 * math.exp(z))
    assert LogNormal(dist="lognormal", median=10, sigma=1, max=50).quantile(q) == 50


@pytest.mark.parametrize("clock", ["٠٩:00", "０９:00", "9:0a", "+9:00", " 9:00", "009:00"])
def test_clock_times_are_ascii_hh_mm(clock):
    assert "calendar.shift_start" in refused(f'calendar.shift_start="{clock}"')


def test_unknown_keys_print_at_most_20_lines(tmp_path):
    path = tmp_path / "many.toml"
    path.write_text("schema_version = 1\n" + "".join(f"k{i} = 1\n" for i in range(5000)))
    with pytest.raises(UserError) as caught:
        load_scenario(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == MAX_ERROR_LINES + 1
    assert lines[-1] == f"... and {5000 - MAX_ERROR_LINES:,} more"
    assert all(line.startswith(f"{path}: k") for line in lines[:-1])


# --- files --------------------------------------------------------------------------


def test_devices_fifos_and_folders_are_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    for path, expected in ((Path("/dev/zero"), "not a regular file"), (fifo, "not a regular file"),
                           (tmp_path, "is a folder"), (tmp_path / "none.toml", "no such")):
        with pytest.raises(UserError, match=expected):
            read_scenario_file(path)


def test_a_file_over_the_size_cap_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.toml"
    with open(path, "wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)  # sparse: large without writing it
    with pytest.raises(UserError, match="at most 1,048,576"):
        read_scenario_file(path)


def test_non_utf8_and_deep_nesting_are_one_line(tmp_path):
    latin = tmp_path / "latin.toml"
    latin.write_bytes('schema_version = 1\nname = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(UserError, match=r"not UTF-8 text \(byte 0xe9 at offset 30\)"):
        read_scenario_file(latin)
    for depth in (MAX_NESTING + 1, 100_000):
        deep = tmp_path / f"deep{depth}.toml"
        deep.write_text("schema_version = 1\nx = " + "[" * depth + "]" * depth + "\n")
        with pytest.raises(UserError, match="levels deep") as caught:
            read_scenario_file(deep)
        assert len(str(caught.value).splitlines()) == 1
    tables = tmp_path / "tables.toml"
    tables.write_text("schema_version = 1\n[" + ".".join(["a"] * 40) + "]\nx = 1\n")
    with pytest.raises(UserError, match="nested 41 levels deep"):
        read_scenario_file(tables)


def test_deep_set_values_are_one_line():
    message = refused("team.reps=" + "[" * 5000 + "]" * 5000)
    assert "nested too deeply" in message and len(message.splitlines()) == 1


# --- counts and memory --------------------------------------------------------------


@pytest.mark.parametrize("args, expected", [
    (["-n", 1_000_000_000], "--replications/-n 1000000000: must be from 1 to 100,000"),
    (["-n", 0], "--replications/-n 0: must be from 1"),
    (["--workers", 10_000], "--workers 10000: must be from 1"),
    (["--workers", 10_000, "--precision", 0.1], "--workers 10000"),
    (["--precision", 0.1, "--max-replications", 10**9], "--max-replications 1000000000"),
    (["--seed", -1], "--seed -1"),
])
def test_counts_are_capped_before_anything_runs(tmp_path, args, expected):
    result = invoke("run", BASELINE, *args, "--out", tmp_path / "r")
    assert result.exit_code == 2
    assert expected in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_a_run_that_cannot_fit_is_refused_naming_the_keys(tmp_path):
    # a team that can dial the whole 5M list over ten years draws all of its table
    result = invoke("run", BASELINE, "--set", "prospects.count=5000000", "--set",
                    "cadence.max_attempts=100", "--set", "team.reps=1000", "--set",
                    "calendar.days=3650", "--workers", 2, "--out", tmp_path / "r")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    assert "prospects.count=5,000,000" in line and "cadence.max_attempts=100" in line
    assert "GiB" in line and "available" in line
    assert list(tmp_path.iterdir()) == []


def test_the_memory_estimate_scales_with_its_drivers():
    small = make_scenario("prospects.count=1000")
    big = make_scenario("prospects.count=1000000", "cadence.max_attempts=10",
                        "team.reps=100", "calendar.days=20")
    one = preflight.memory_estimate(small, replications=3, strategies=3, workers=1)
    assert one.total_bytes < 300 * preflight.MiB
    many = preflight.memory_estimate(big, replications=3, strategies=3, workers=4)
    table = 1_000_000 * 10 * preflight.DRAWS_PER_ATTEMPT * 4  # the whole float32 table
    assert many.per_worker_bytes >= preflight.WORKER_BASE_BYTES + table
    # the draws follow the prospects a team can reach: 2 reps for 2 days, not 1M
    few_dials = preflight.memory_estimate(make_scenario(
        "prospects.count=1000000", "cadence.max_attempts=10"), replications=3, strategies=3,
        workers=1)
    assert few_dials.per_worker_bytes < (preflight.WORKER_BASE_BYTES + table / 4
                                         + 1_000_000 * preflight.PROSPECT_STATE_BYTES)
    assert "team.reps=2" in few_dials.drivers
    assert many.total_bytes >= 4 * many.per_worker_bytes
    with pytest.raises(UserError, match="more than the 1.0 GiB of memory available"):
        preflight.check_memory(many, "x.toml", available=preflight.GiB)
    preflight.check_memory(one, "x.toml", available=preflight.GiB)  # fits: no error


# --- sweep files ----------------------------------------------------------------------


@pytest.mark.parametrize("grid, expected", [
    ({"callbacks.p_callback": [0.01, float("nan")]}, "grid.callbacks.p_callback"),
    ({"callbacks.p_callback": [float("inf")]}, "grid.callbacks.p_callback"),
    ({"callbacks.delay_h": [{"dist": "exponential", "mean": float("nan")}]}, "grid.callbacks.delay_h"),
    ({"strategies": [["never", "always"], ["never", "rotate"]]}, "grid.strategies"),
    ({"strategies.1": ["always", "never"]}, "grid.strategies.1"),
    ({"strategies.1.name": ["x", "y"]}, "grid.strategies.1.name"),
])
def test_sweep_grids_with_nan_or_varying_strategies_are_refused_by_dry_run(tmp_path, grid,
                                                                           expected):
    from .sweep_support import write_sweep

    sweep_file = write_sweep(tmp_path, grid=grid)
    result = invoke("sweep", sweep_file, "--dry-run")
    assert result.exit_code == 2, result.output
    assert expected in result.output and len(result.output.strip().splitlines()) == 1


def test_a_strategy_setting_may_be_swept(tmp_path):
    from .sweep_support import write_sweep

    sweep_file = write_sweep(tmp_path, grid={"strategies.2.n_messages": [2, 4]})
    result = invoke("sweep", sweep_file, "--out", tmp_path / "out", "--workers", 1, "-q")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("field, value", [("replications", True), ("replications", "4"),
                                          ("schema_version", True), ("seed", 1.5)])
def test_sweep_files_are_strict_too(tmp_path, field, value):
    from .sweep_support import write_sweep

    sweep_file = write_sweep(tmp_path, grid={"callbacks.p_callback": [0.01]}, **{field: value})
    result = invoke("sweep", sweep_file, "--dry-run")
    assert result.exit_code == 2 and field in result.output


@pytest.mark.parametrize("override", ['name="a\\bb"', 'name="a\\u0000b"', 'name="x\\ny"',
                                      'strategies.0.name="n\\u200eever"'])
def test_names_hold_no_control_characters(override):
    assert "control characters" in refused(override)
