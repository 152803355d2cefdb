"""dialsim calibrate: hits reachable targets, says clearly when it cannot."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from sim.analysis.stats import t_interval
from sim.experiment.calibrate import calibrate, parse_targets, simulate_rates
from sim.scenario.schema import build_scenario

from .conftest import SCENARIOS

START = {"schema_version": 1, "name": "start", "calendar": {"days": 2}, "team": {"reps": 2},
         "prospects": {"count": 500}, "strategies": ["never", "always"]}
TRUTH = copy.deepcopy(START)
TRUTH["prospects"]["segments"] = [{"name": "all", "reachability": 0.15, "p_voicemail_box": 0.6}]
TRUTH["callbacks"] = {"p_callback": 0.06}


@pytest.fixture(scope="module")
def targets():
    """Dashboard rates of a team whose parameters differ from the start (measured well:
    20 replications, another seed than the search uses)."""
    rates = simulate_rates(TRUTH, "always", 20, seed=123)
    return {name: float(np.nanmean(rates[name]))
            for name in ("conversation_rate", "voicemail_share", "callbacks_per_message_left")}


def test_calibrate_hits_its_targets_and_moves_toward_the_truth(targets):
    observe = [f"{name}={value}" for name, value in targets.items()]
    cal = calibrate(START, parse_targets(observe, None), "always", replications=6, seed=1)
    assert cal.all_met, [(a.target.name, a.target.value, a.ci_low, a.ci_high) for a in cal.achieved]
    for a in cal.achieved:
        assert a.status == "met"
        # solved, not merely inside a wide interval: within half the half-width of the target
        assert abs(a.simulated - a.target.value) <= 0.5 * (a.ci_high - a.ci_low) / 2
    keys = {a.target.key: a.key_value for a in cal.achieved}
    start = build_scenario(copy.deepcopy(START)).prospects.segments[0]
    for key, truth, begin in (("prospects.segments.0.reachability", 0.15, start.reachability),
                              ("prospects.segments.0.p_voicemail_box", 0.6, start.p_voicemail_box),
                              ("callbacks.p_callback", 0.06, 0.02)):
        assert abs(keys[key] - truth) < abs(begin - truth) / 2, (key, keys[key])
    # the written scenario holds the calibrated values and reproduces the rates
    rates = simulate_rates(cal.data, "always", 6, seed=1)
    for a in cal.achieved:
        assert t_interval(rates[a.target.name]).mean == pytest.approx(a.simulated)


def test_unreachable_and_inconsistent_targets_are_named():
    cal = calibrate(START, parse_targets(["voicemail_share=0.99"], None), "always", replications=3)
    (a,) = cal.achieved
    assert a.status == "unreachable" and a.key_value == 1.0 and not cal.all_met
    assert "at the end of its range" in a.note
    both = parse_targets(["conversation_rate=0.04", "live_answer_share=0.09"],
                         ["prospects.segments.0.reachability", "prospects.segments.0.p_right_party"])
    cal = calibrate(START, both, "always", replications=3)
    status = {a.target.name: a.status for a in cal.achieved}
    assert status == {"conversation_rate": "met", "live_answer_share": "inconsistent"}
    assert any("inconsistent" in m for m in cal.messages)


def test_cli_prints_observed_vs_simulated_and_writes_a_valid_scenario(tmp_path, targets):
    start = tmp_path / "start.toml"
    start.write_text('schema_version = 1\nname = "start"\nstrategies = ["always"]\n'
                     "[calendar]\ndays = 2\n[team]\nreps = 2\n[prospects]\ncount = 500\n")
    out = tmp_path / "team.toml"
    result = CliRunner().invoke(app, ["calibrate", str(start), "--observe",
                                      f"voicemail_share={targets['voicemail_share']:.4f}",
                                      "--under", "always", "-o", str(out), "-n", "4"])
    assert result.exit_code == 0, result.output
    assert "observed" in result.output and "simulated" in result.output and "met" in result.output
    # 80 columns, but for lines naming a file (a path is as long as it is)
    assert max(len(line) for line in result.output.splitlines() if str(tmp_path) not in line) <= 80
    data = tomllib.loads(out.read_text())
    assert build_scenario(data).prospects.segments[0].p_voicemail_box != 0.8
    missed = CliRunner().invoke(app, ["calibrate", str(start), "--observe", "voicemail_share=0.99",
                                      "--under", "always", "-o", str(tmp_path / "x.toml"), "-n", "3"])
    assert missed.exit_code == 1 and "unreachable" in missed.output


@pytest.mark.parametrize("args,message", [
    (["--observe", "happiness=0.4"], "unknown rate 'happiness'"),
    (["--observe", "voicemail_share=1.7"], "a rate is between 0 and 1"),
    (["--observe", "voicemail_share=0.7", "--free", "a.b", "--free", "c.d"], "one key per --observe target"),
    (["--observe", "voicemail_share=0.7", "--free", "team.inbound_routing"], "not a numeric scenario key"),
])
def test_bad_options_exit_2_and_write_nothing(tmp_path, args, message):
    start = tmp_path / "start.toml"
    start.write_text('schema_version = 1\nstrategies = ["always"]\n')
    out = tmp_path / "team.toml"
    result = CliRunner().invoke(app, ["calibrate", str(start), *args, "--under", "always", "-o", str(out)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not out.exists()


def test_calibrate_with_overrides_writes_a_file_that_runs(tmp_path):
    """--set resolves the scenario (every optional key present, many null): the written
    file leaves nulls out, and keeps 'no break' as "none"."""
    from typer.testing import CliRunner

    from cli import app
    from sim.scenario.schema import load_scenario

    out = tmp_path / "cal.toml"
    result = CliRunner().invoke(app, [
        "calibrate", str(SCENARIOS / "baseline.toml"), "--observe", "conversation_rate=0.04",
        "--under", "always", "-o", str(out), "--set", "calendar.days=1", "--set",
        "prospects.count=300", "--set", "team.reps=2", "--set", "calendar.break_start=null",
        "--set", "calendar.break_end=null"])
    assert out.exists(), result.output
    scenario = load_scenario(out)
    assert scenario.calendar.break_start is None and scenario.team.reps == 2
