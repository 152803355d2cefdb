"""A strategy is a whole voicemail policy (issue 15, item 3): its messages, how they are
left, what each one does, and, if it says so, a different policy per list segment."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from sim.errors import UserError
from sim.experiment.replications import run_experiment
from sim.experiment.runs import execute_run
from sim.model.streams import build_world

from .conftest import make_scenario, run_campaign

LIVE_VS_RECORDED = (
    'strategies=[{name = "live_always", kind = "always", drop_mode = "live", '
    'message_length_s = 25}, {name = "recorded_rotate", kind = "rotate", drop_mode = "recorded"}]',
    "prospects.count=1500", "calendar.days=3",
)


def test_live_and_recorded_in_one_run_with_a_paired_interval(tmp_path):
    """The choice a team faces, in one run: the paired interval is the narrower one."""
    scenario = make_scenario(*LIVE_VS_RECORDED)
    execute_run(scenario, out_dir=tmp_path / "r", seed=5, replications=6,
                strategies=("live_always", "recorded_rotate"), workers=1)
    summary = pq.read_table(tmp_path / "r" / "summary.parquet").to_pylist()
    live = [r for r in summary if r["strategy"] == "live_always"]
    recorded = [r for r in summary if r["strategy"] == "recorded_rotate"]
    assert all(r["recorded_drops"] == 0 and r["voicemails_left"] > 0 for r in live)
    assert all(r["recorded_drops"] == r["voicemails_left"] > 0 for r in recorded)
    # live messages cost the rep beep + 25 s each; recorded drops cost nothing
    for row in live:
        assert row["voicemail_hours"] * 3600 >= row["voicemails_left"] * (15 + 25)
    comparison = pq.read_table(tmp_path / "r" / "comparison.parquet").to_pylist()
    row = next(r for r in comparison if r["strategy"] == "recorded_rotate"
               and r["metric"] == "connects_per_rep_hour")
    assert row["diff_half_width"] < row["diff_unpaired_half_width"]


def test_a_per_segment_policy_touches_only_its_segment():
    scenario = make_scenario(
        'prospects.segments=[{name = "cold", weight = 1}, {name = "warm", weight = 1}]',
        'strategies=["never", "always", {name = "mixed", by_segment = {cold = "never", '
        'warm = "always"}}]', "prospects.count=1200")
    _, campaign, log = run_campaign(scenario, "mixed", record=True)
    segment = build_world(scenario, 1, 0).segment
    left = [row["prospect"] for row in log.rows if row["outcome"] == "voicemail_left"]
    silent = [row["prospect"] for row in log.rows if row["outcome"] == "voicemail_silent"]
    assert left and silent
    assert all(segment[p] == 1 for p in left)  # warm: always
    assert all(segment[p] == 0 for p in silent)  # cold: never


def test_a_stronger_message_brings_more_callbacks():
    base = ("callbacks.p_callback=0.05", "callbacks.p_listen=1", "prospects.count=1500")
    plain = make_scenario(*base)
    strong = make_scenario(*base, 'strategies=[{name = "always", kind = "always", '
                                  'callback_mult_by_message = {A = 4.0}}]')
    for seed in (1, 2):
        a = run_experiment(plain, seed=seed, replications=1, strategies=("always",)).summary_table()
        b = run_experiment(strong, seed=seed, replications=1, strategies=("always",)).summary_table()
        assert b.column("callbacks_received")[0].as_py() > 2 * a.column("callbacks_received")[0].as_py()


@pytest.mark.parametrize("strategies, problem", [
    ('[{name = "x", by_segment = {nope = "never"}}, "never"]', "no segment 'nope'"),
    ('[{name = "x", by_segment = {all = "ghost"}}, "never"]', "'ghost' must name another strategy"),
    ('[{name = "x", kind = "always", callback_mult_by_message = {B = 2}}]', "no message 'B'"),
])
def test_bad_whole_policies_are_one_clear_line(strategies, problem):
    with pytest.raises(UserError, match=problem):
        make_scenario(f"strategies={strategies}")


def test_breakdowns_sum_to_the_totals(tmp_path):
    """breakdown.parquet: per segment and per time zone, every count sums to the run's."""
    scenario = make_scenario(
        'prospects.segments=[{name = "cold", weight = 2}, {name = "warm", weight = 1, '
        'p_pickup = 0.5}]',
        'prospects.time_zones=[{name = "east", utc_offset_h = 0, weight = 1}, '
        '{name = "west", utc_offset_h = -3, weight = 1}]',
        "callbacks.p_callback=0.2", "prospects.count=1500")
    execute_run(scenario, out_dir=tmp_path / "r", seed=2, replications=2,
                strategies=("never", "always"), workers=1)
    summary = pq.read_table(tmp_path / "r" / "summary.parquet").to_pylist()
    parts = pq.read_table(tmp_path / "r" / "breakdown.parquet").to_pylist()
    counts = ("dials", "outbound_connects", "inbound_connects", "return_connects",
              "voicemails_left", "opt_outs")
    for row in summary:
        for dimension, groups in (("segment", {"cold", "warm"}), ("time_zone", {"east", "west"})):
            mine = [p for p in parts if p["strategy"] == row["strategy"]
                    and p["replication"] == row["replication"] and p["dimension"] == dimension]
            assert {p["group"] for p in mine} == groups
            for count in counts:
                assert sum(p[count] for p in mine) == row[count], (dimension, count)
    warm = [p for p in parts if p["group"] == "warm"]
    cold = [p for p in parts if p["group"] == "cold"]
    # warm prospects pick up twice as often: more conversations per dial (direction)
    assert (sum(p["outbound_connects"] for p in warm) / sum(p["dials"] for p in warm)
            > sum(p["outbound_connects"] for p in cold) / sum(p["dials"] for p in cold))


GENUINE = ('strategies=[{name = "always", kind = "always"}, {name = "honest", kind = "always"}, '
           '{name = "deceptive", kind = "always", genuine_callback_share_by_message = {A = 0.6}}]',
           "callbacks.p_callback=0.5", "callbacks.p_listen=0.8",
           "callbacks.p_callback_missed_call=0", "calendar.days=4")


def test_a_messages_genuine_share_splits_its_callbacks_and_nothing_else():
    """A message whose callbacks are 60% genuine: the confused share of its answered
    callbacks is 40% within a binomial 99.9% interval; everything else the run counts
    is identical to the same message at 100% (its own draw: the process is unchanged)."""
    from scipy import stats

    scenario = make_scenario(*GENUINE)
    result = run_experiment(scenario, seed=4, replications=4,
                            strategies=("honest", "deceptive"))
    rows = result.summary_table().to_pylist()
    honest = [r for r in rows if r["strategy"] == "honest"]
    deceptive = [r for r in rows if r["strategy"] == "deceptive"]
    for h, d in zip(honest, deceptive):
        assert h["confused_inbound_connects"] == h["confused_return_connects"] == 0
        for key, value in h.items():
            if key not in ("strategy", "confused_inbound_connects", "confused_return_connects"):
                assert d[key] == value, key
    answered = sum(r["inbound_connects"] + r["return_connects"] for r in deceptive)
    confused = sum(r["confused_inbound_connects"] + r["confused_return_connects"] for r in deceptive)
    assert answered > 300
    low, high = stats.binom.interval(0.999, answered, 0.4)
    assert low <= confused <= high, (confused, answered)


def test_confused_callers_book_no_meeting_and_show_in_the_breakdown():
    from sim.analysis.economics import economics_columns

    scenario = make_scenario(*GENUINE, "economics.p_meeting_per_inbound_connect=0.3",
                             "economics.p_meeting_per_return_connect=0.2",
                             'prospects.segments=[{name = "cold", weight = 2}, {name = "warm", weight = 1}]')
    result = run_experiment(scenario, seed=4, replications=2, strategies=("deceptive",))
    summary = result.summary_table()
    meetings = economics_columns(summary, scenario, result.breakdown_table())["meetings"]
    for i, r in enumerate(summary.to_pylist()):
        assert r["confused_inbound_connects"] > 0
        hand = (0.3 * (r["inbound_connects"] - r["confused_inbound_connects"])
                + 0.2 * (r["return_connects"] - r["confused_return_connects"]))
        assert meetings[i] == pytest.approx(hand, rel=1e-12)
    for dimension in ("segment", "time_zone", "rep_group"):
        rows = [b for b in result.breakdown_table().to_pylist() if b["dimension"] == dimension]
        for name in ("confused_inbound_connects", "confused_return_connects"):
            assert sum(b[name] for b in rows) == sum(r[name] for r in summary.to_pylist()), \
                (dimension, name)


def test_a_genuine_share_names_a_message_of_its_strategy():
    with pytest.raises(Exception, match="genuine_callback_share_by_message: no message 'B'"):
        make_scenario('strategies=[{name = "x", kind = "always", '
                      'genuine_callback_share_by_message = {B = 0.5}}]')
