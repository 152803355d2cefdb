"""Rep groups (team.groups): each group works its own shift on its office clock, is paid
for it, answers callbacks routed to it, and is broken down in breakdown.parquet."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from cli import app
from sim.analysis.stats import t_interval
from sim.experiment import engine
from sim.experiment.replications import run_experiment
from sim.model.codes import DAY_S

from .conftest import SCENARIOS, make_scenario, run_campaign
from .test_engine import assert_engines_agree, compiled_only

# New York (the team's clock) 09:00-17:00 with lunch; London (+5) 13:00-21:30 its time
# with a half-hour break = 08:00-16:30 New York; prospects east and west of New York
TWO_OFFICES = (
    'team.groups=[{name="ny", reps=2}, {name="london", reps=3, utc_offset_h=5, '
    'shift_start="13:00", shift_end="21:30", break_start="17:00", break_end="17:30"}]',
    "calendar.days=3", "prospects.count=3000",
    'prospects.time_zones=[{name="east", utc_offset_h=0, weight=0.6}, '
    '{name="west", utc_offset_h=-3, weight=0.4}]',
    "callbacks.p_callback=0.3", "callbacks.p_callback_missed_call=0.05",
    "callbacks.delay_h=0.5",
)
# on the team's clock, seconds after midnight
WINDOWS = {"ny": [(9 * 3600, 12 * 3600), (13 * 3600, 17 * 3600)],
           "london": [(8 * 3600, 12 * 3600), (12.5 * 3600, 16.5 * 3600)]}


def two_offices(*more: str):
    return make_scenario(*TWO_OFFICES, *more)


def group_of(campaign) -> dict[int, str]:
    names = [name for name, _, _ in campaign.groups]
    return {r: names[g] for r, g in enumerate(campaign.rep_group)}


def test_group_shifts_on_the_teams_clock_and_paid_hours_by_hand():
    sc = two_offices()
    assert sc.team.reps == 5
    assert {name: windows for name, _, windows in sc.rep_groups()} == WINDOWS
    metrics, campaign, _ = run_campaign(sc, "always")
    # ny: 2 reps x 3 days x 7 h; london: 3 reps x 3 days x (8.5 h - 0.5 h break)
    assert campaign.group_rep_hours() == [42.0, 72.0]
    assert metrics["rep_hours"] == 114.0
    split = sum(metrics[f"{c}_hours"] for c in ("dialling", "talking", "voicemail", "wrapup",
                                                "idle"))
    assert math.isclose(split, 114.0, rel_tol=1e-9)  # the time-accounting identity


@pytest.mark.parametrize("routing", ["own_rep", "group", "any_rep"])
def test_a_groups_reps_dial_and_talk_only_inside_their_windows(routing):
    sc = two_offices(f'team.inbound_routing="{routing}"', "callbacks.hold_s=60")
    _, campaign, log = run_campaign(sc, "always", record=True)
    group = group_of(campaign)
    worked = {name: 0 for name in WINDOWS}
    for row in log.rows:
        if row["outcome"] == "inbound_missed":  # nobody took it: no rep worked
            continue
        tod = row["time_s"] % DAY_S
        windows = WINDOWS[group[row["rep"]]]
        assert any(start <= tod < end for start, end in windows), (group[row["rep"]], row)
        worked[group[row["rep"]]] += 1
    # London works 08:00-09:00 New York time, when New York does not
    early = [r for r in log.rows if 8 * 3600 <= r["time_s"] % DAY_S < 9 * 3600
             and r["direction"] == "outbound"]
    assert early and all(group[r["rep"]] == "london" for r in early)
    assert all(worked.values())


def _last_dialler(rows):
    """For each inbound connect: (rep who took it, rep who last dialled the prospect)."""
    last: dict[int, int] = {}
    pairs = []
    for row in sorted(rows, key=lambda r: r["time_s"]):
        if row["direction"] == "outbound":
            last[row["prospect"]] = row["rep"]
        elif row["outcome"] == "inbound_connect":
            pairs.append((row["rep"], last[row["prospect"]]))
    return pairs


def test_group_routing_never_hands_a_callback_to_another_group():
    sc = two_offices('team.inbound_routing="group"', "callbacks.hold_s=60")
    metrics, campaign, log = run_campaign(sc, "always", record=True)
    group = group_of(campaign)
    pairs = _last_dialler(log.rows)
    assert len(pairs) == metrics["inbound_connects"] > 50
    assert all(group[taker] == group[owner] for taker, owner in pairs)
    assert sum(taker != owner for taker, owner in pairs) > 10  # a group mate took it
    assert metrics["callbacks_held"] > 0  # held callbacks stay in the group too
    # a missed callback's return call is placed from its office's queue: by a rep of
    # the group of the rep the missed call was logged for, not always that rep
    missed_for = {}
    returns = []
    for row in sorted(log.rows, key=lambda r: r["time_s"]):
        if row["outcome"] == "inbound_missed":
            missed_for[row["prospect"]] = row["rep"]
        elif row["direction"] == "return":
            returns.append((row["rep"], missed_for[row["prospect"]]))
    assert len(returns) == metrics["return_calls"] > 10
    assert all(group[rep] == group[owner] for rep, owner in returns)
    assert any(rep != owner for rep, owner in returns)
    # any-rep routing does cross groups: the check above can fail
    _, campaign, log = run_campaign(two_offices('team.inbound_routing="any_rep"'), "always",
                                    record=True)
    assert any(group[t] != group[o] for t, o in _last_dialler(log.rows))


def test_group_routing_takes_more_callbacks_than_own_rep_and_no_more_than_any_rep():
    # paired: the same prospects and draws under each routing; 8 replications
    taken = {routing: [] for routing in ("own_rep", "group", "any_rep")}
    for replication in range(8):
        for routing in taken:
            metrics, *_ = run_campaign(two_offices(f'team.inbound_routing="{routing}"'),
                                       "always", replication=replication, seed=5)
            taken[routing].append(metrics["inbound_connects"] / metrics["callbacks_received"])
    more = t_interval(np.subtract(taken["group"], taken["own_rep"]))
    assert more.low > 0, more  # group routing answers more callbacks than own-rep
    fewer = t_interval(np.subtract(taken["any_rep"], taken["group"]))
    assert fewer.high > 0 and fewer.mean > -0.01, fewer  # and not more than any-rep


def test_groups_alike_change_nothing_but_the_labels():
    base = run_campaign(make_scenario("team.reps=4"), "always")[0]
    alike = run_campaign(make_scenario(
        'team.groups=[{name="a", reps=1}, {name="b", reps=3}]'), "always")[0]
    assert alike == base
    one = run_campaign(make_scenario('team.groups=[{name="all", reps=2}]'), "always")[0]
    assert one == run_campaign(make_scenario(), "always")[0]


def test_group_rows_add_up_to_the_totals():
    result = run_experiment(two_offices('team.inbound_routing="group"'), seed=3,
                            replications=2, strategies=("never", "always"))
    summary = {(r["strategy"], r["replication"]): r for r in result.summary_table().to_pylist()}
    rows = [r for r in result.breakdown_table().to_pylist() if r["dimension"] == "rep_group"]
    assert {r["group"] for r in rows} == {"ny", "london"}
    for key, total in summary.items():
        mine = [r for r in rows if (r["strategy"], r["replication"]) == key]
        assert len(mine) == 2
        for column in ("dials", "outbound_connects", "inbound_connects", "return_connects",
                       "voicemails_left", "opt_outs"):
            assert sum(r[column] for r in mine) == total[column], column
        for column in ("rep_hours", "idle_hours", "overtime_hours"):
            assert math.isclose(sum(r[column] for r in mine), total[column],
                                rel_tol=1e-9, abs_tol=1e-9), column
        for r in mine:
            assert 0 <= r["idle_hours"] <= r["rep_hours"]
    other = [r for r in result.breakdown_table().to_pylist() if r["dimension"] != "rep_group"]
    assert other and all(r["rep_hours"] is None for r in other)


def test_without_groups_the_team_is_one_group():
    result = run_experiment(make_scenario(), seed=3, replications=1, strategies=("always",))
    total = result.summary_table().to_pylist()[0]
    row, = [r for r in result.breakdown_table().to_pylist() if r["dimension"] == "rep_group"]
    assert row["group"] == "team"
    assert row["dials"] == total["dials"] and row["rep_hours"] == total["rep_hours"]
    assert row["idle_hours"] == total["idle_hours"]


@compiled_only
@pytest.mark.parametrize("more", [
    ('team.inbound_routing="group"', "callbacks.hold_s=60"),
    ('team.inbound_routing="group"', "team.groups.1.reps=2", "team.lines_per_rep=3",
     "team.groups.0.lines_per_rep=2", "prospects.count=4000"),
    ('team.inbound_routing="any_rep"', "team.groups.0.break_start=null",
     "team.groups.0.break_end=null"),
], ids=["power, group routing, hold", "parallel", "any rep, no break"])
def test_compiled_and_python_engines_agree_with_groups(more):
    sc = two_offices(*more)
    assert assert_engines_agree(sc, "always")["dials"] > 0
    runs = [run_campaign(sc, "always", kernel=engine.select(name).module)[1].breakdown()
            for name in ("compiled", "python")]
    assert runs[0] == runs[1]


def test_cli_by_group(tmp_path):
    base = ["run", str(SCENARIOS / "baseline.toml"), "-n", "2", "--set", "prospects.count=300",
            "--set", "calendar.days=1", "--strategy", "never", "--set",
            'team.groups=[{name="early", reps=2, shift_start="08:00", break_start="none", '
            'break_end="none"}, {name="late", reps=1, shift_start="10:00", shift_end="18:00"}]']
    res = runner.invoke(app, base + ["--by", "group", "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "connects per rep-hour by rep group" in text
    assert "│ early" in res.output and "│ late" in res.output and "all groups" in res.output
    # early: 2 reps x 9 h; late: 1 rep x 7 h
    assert "18.0" in res.output and "7.0" in res.output and "25.0" in res.output


runner = CliRunner()


@pytest.mark.parametrize("override, key, fragment", [
    ("team.groups.1.reps=0", "team.groups.1.reps", "greater than or equal to 1"),
    ('team.groups.1.break_start="12:00"', "team.groups.1.break_start",
     "must lie strictly inside the shift"),
    ('team.groups.1.shift_end="12:00"', "team.groups.1.shift_end", "must be after shift_start"),
    ('team.inbound_routing="office"', "team.inbound_routing", "'group'"),
    ("team.groups.1.lines_per_rep=2", "team.groups.1.lines_per_rep",
     "more than team.lines_per_rep (1)"),
    ("team.groups.1.utc_offset_h=-10", "team.groups.1.utc_offset_h",
     "outside one day of the team's clock"),
    ('team.groups.1.name="new_york"', "team.groups", "names must be unique"),
])
def test_bad_groups_exit_2_with_one_line_naming_the_key(tmp_path, override, key, fragment):
    res = runner.invoke(app, ["run", str(SCENARIOS / "two_offices.toml"), "-n", "1",
                              "--set", override, "--out", str(tmp_path / "x")])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    assert f"{key}" in lines[0] and fragment in lines[0], lines[0]
    assert not (tmp_path / "x").exists()


def test_group_rows_match_the_call_log():
    sc = two_offices('team.inbound_routing="group"', "callbacks.hold_s=60")
    _, campaign, log = run_campaign(sc, "always", record=True)
    group = group_of(campaign)
    rows = campaign.breakdown()
    by_group = {rows["group"][i]: {c: rows[c][i] for c in rows}
                for i, d in enumerate(rows["dimension"]) if d == "rep_group"}
    for name in WINDOWS:
        mine = [r for r in log.rows if group[r["rep"]] == name]
        assert by_group[name]["dials"] == sum(r["direction"] == "outbound" for r in mine)
        for column, outcome in (("outbound_connects", "connect"),
                                ("inbound_connects", "inbound_connect"),
                                ("return_connects", "return_connect"),
                                ("voicemails_left", "voicemail_left")):
            assert by_group[name][column] == sum(r["outcome"] == outcome for r in mine), column
        assert by_group[name]["inbound_connects"] > 0


def test_a_group_with_fewer_lines_dials_fewer_at_once():
    # a 3-line parallel dialer for the team; the "one" group's reps get a single line:
    # one line at a time, so never a second line, never an abandoned call
    sc = make_scenario('team.groups=[{name="one", reps=2, lines_per_rep=1}, '
                       '{name="three", reps=2}]', "team.lines_per_rep=3", "prospects.count=3000")
    _, campaign, log = run_campaign(sc, "always", record=True)
    group = group_of(campaign)
    outbound = [r for r in log.rows if r["direction"] == "outbound"]
    for name, most in (("one", 0), ("three", 2)):
        mine = [r for r in outbound if group[r["rep"]] == name]
        assert max(r["line"] for r in mine) == most, name
    abandoned = [r for r in outbound if r["outcome"] == "abandoned"]
    assert abandoned and all(group[r["rep"]] == "three" for r in abandoned)


def test_resizing_a_group_resizes_the_team(tmp_path):
    from sim.scenario.schema import load_scenario

    assert load_scenario(SCENARIOS / "two_offices.toml").team.reps == 10
    assert load_scenario(SCENARIOS / "two_offices.toml", ["team.groups.1.reps=7"]).team.reps == 13
    sweep = tmp_path / "sweep.toml"  # a sweep point resizes it too
    sweep.write_text(f'schema_version = 1\nname = "s"\nbase = "{SCENARIOS / "two_offices.toml"}"\n'
                     'replications = 1\n[grid]\n"team.groups.1.reps" = [2, 6]\n')
    from sim.experiment.sweep.spec import load_sweep

    points = load_sweep(sweep).points
    assert [p.scenario["team"]["reps"] for p in points] == [8, 12]
