"""Invariants that hold on every run, whatever the parameters (property tests)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.analysis.metrics import METRIC_NAMES, TIME_SPLIT

from .conftest import make_scenario, run_campaign

probability = st.floats(0.0, 1.0)


@st.composite
def scenarios(draw):
    overrides = [
        f"team.reps={draw(st.integers(1, 3))}",
        f"team.lines_per_rep={draw(st.integers(1, 3))}",
        f'team.inbound_routing="{draw(st.sampled_from(["own_rep", "any_rep"]))}"',
        f"calendar.days={draw(st.integers(1, 3))}",
        f"prospects.count={draw(st.integers(5, 250))}",
        f"cadence.max_attempts={draw(st.integers(1, 5))}",
        f"cadence.min_gap_h={draw(st.floats(0, 30))}",
        f"cadence.max_attempts_per_day={draw(st.integers(1, 3))}",
        f'cadence.list_order="{draw(st.sampled_from(["retries_first", "fresh_first"]))}"',
        f"dialer.amd.enabled={str(draw(st.booleans())).lower()}",
        f"dialer.amd.false_machine={draw(probability)}",
        f"dialer.amd.false_human={draw(probability)}",
        f'voicemail.drop_mode="{draw(st.sampled_from(["recorded", "live"]))}"',
        f"screening.answer_mult_per_silent_miss={draw(st.floats(0.1, 1.0))}",
        f"screening.answer_mult_per_voicemail={draw(st.floats(0.5, 2.0))}",
        f"callbacks.p_listen={draw(probability)}",
        f"callbacks.p_callback={draw(probability)}",
        f"callbacks.p_callback_missed_call={draw(st.floats(0, 0.3))}",
        f"callbacks.delay_h={draw(st.floats(0.01, 30))}",
        f"conversation.p_follow_up_after_connect={draw(st.floats(0, 0.5))}",
        f"opt_out.p_per_connect={draw(probability)}",
        f"prospects.segments.0.p_pickup={draw(probability)}",
        f"prospects.segments.0.reachability={draw(probability)}",
        f"prospects.segments.0.p_bad_number={draw(st.floats(0, 0.5))}",
        f"prospects.time_zones.0.utc_offset_h={draw(st.sampled_from([-8, -3, 0, 1, 5]))}",
    ]
    if draw(st.booleans()):
        overrides += ["calendar.break_start=null", "calendar.break_end=null"]
    if draw(st.booleans()):  # the other channels
        overrides += [
            f"channels.email.after_silent_miss={str(draw(st.booleans())).lower()}",
            f"channels.email.after_attempts=[{draw(st.integers(1, 5))}]",
            f"channels.email.p_reply={draw(probability)}",
            f"channels.email.p_opt_out={draw(st.floats(0, 0.3))}",
            f"channels.email.pickup_mult={draw(st.floats(0.3, 2.0))}",
            f"channels.email.delay_h={draw(st.floats(0, 30))}",
            f"channels.text.after_message={str(draw(st.booleans())).lower()}",
            f"channels.text.p_reply={draw(probability)}",
            f"channels.text.rep_s={draw(st.floats(0, 120))}",
            f"channels.second_number.share={draw(probability)}",
            f"channels.second_number.switch_after_misses={draw(st.integers(1, 3))}",
        ]
    return make_scenario(*overrides)


@st.composite
def group_scenarios(draw):
    """A scenario with 1-3 rep groups, each on its own shift and office clock."""
    groups = []
    lines = draw(st.integers(1, 3))
    for g in range(draw(st.integers(1, 3))):
        offset = draw(st.sampled_from([-3, 0, 1, 5]))
        start = draw(st.integers(max(0, offset + 1), min(14, 14 + offset)))
        length = draw(st.integers(2, 9))
        group = (f'{{name="g{g}", reps={draw(st.integers(1, 3))}, utc_offset_h={offset}, '
                 f'shift_start="{start:02d}:00", shift_end="{start + length:02d}:00"')
        if length >= 4 and draw(st.booleans()):
            group += f', break_start="{start + 1:02d}:00", break_end="{start + 1:02d}:30"'
        else:
            group += ', break_start="none", break_end="none"'
        if lines > 1 and draw(st.booleans()):
            group += f", lines_per_rep={draw(st.integers(1, lines))}"
        groups.append(group + "}")
    routing = draw(st.sampled_from(["own_rep", "any_rep", "group"]))
    return make_scenario(
        f"team.groups=[{', '.join(groups)}]", f'team.inbound_routing="{routing}"',
        f"team.lines_per_rep={lines}",
        f"calendar.days={draw(st.integers(1, 3))}",
        f"prospects.count={draw(st.integers(5, 400))}",
        f"cadence.min_gap_h={draw(st.floats(0, 30))}",
        f"callbacks.p_callback={draw(probability)}",
        f"callbacks.p_callback_missed_call={draw(st.floats(0, 0.3))}",
        f"callbacks.delay_h={draw(st.floats(0.01, 30))}",
        f"callbacks.hold_s={draw(st.sampled_from([0, 30]))}",
        f"prospects.time_zones.0.utc_offset_h={draw(st.sampled_from([-3, 0, 1]))}",
    )


def check_invariants(scenario, m: dict) -> None:
    for name in METRIC_NAMES:
        value = m[name]
        assert not (isinstance(value, float) and value < 0), (name, value)
        if isinstance(value, int):
            assert value >= 0, (name, value)
    assert m["outbound_connects"] <= m["live_answers"] <= m["dials"]
    assert m["connects"] == m["outbound_connects"] + m["inbound_connects"] + m["return_connects"]
    assert m["callbacks_received"] == m["inbound_connects"] + m["callbacks_missed"]
    # the other channels: replies <= touches; conversations by channel sum to the total
    assert m["email_reply_connects"] <= m["email_replies"] <= m["emails_sent"]
    assert m["text_reply_connects"] <= m["text_replies"] <= m["texts_sent"]
    assert m["callback_connects"] >= 0
    assert m["connects"] == (m["outbound_connects"] + m["callback_connects"] + m["return_connects"]
                             + m["email_reply_connects"] + m["text_reply_connects"])
    assert m["second_number_connects"] <= m["second_number_dials"] <= m["dials"]
    assert m["second_number_connects"] <= m["outbound_connects"]
    assert m["return_connects"] <= m["return_calls"] <= m["callback_messages"] <= m["callbacks_missed"]
    assert m["voicemails_left"] + m["silent_hangups"] == m["voicemails_reached"]
    assert m["voicemails_heard"] <= m["voicemails_left"]
    assert m["dials"] == (m["bad_numbers"] + m["live_answers"] + m["amd_hangups"]
                          + m["voicemails_reached"] + m["no_answers"] + m["cancelled_dials"])
    assert m["prospects_reached"] <= m["prospects_dialled"] <= scenario.prospects.count
    assert 0 <= m["abandon_rate"] <= m["abandon_rate_with_amd"] <= 1 or m["live_answers"] == 0
    if scenario.team.lines_per_rep == 1:
        assert m["abandoned_calls"] == 0
    split = sum(m[name] for name in TIME_SPLIT)
    assert math.isclose(split, m["rep_hours"], rel_tol=1e-9, abs_tol=1e-9), (split, m["rep_hours"])
    assert math.isclose(m["rep_hours"],
                        scenario.calendar.days * scenario.paid_rep_hours_per_day())
    if not scenario.team.groups:
        assert math.isclose(
            m["rep_hours"],
            scenario.team.reps * scenario.calendar.days * scenario.calendar.paid_hours_per_day(),
        )


def check_group_invariants(scenario, m: dict, campaign) -> None:
    """Rep groups add up to the team: counts, paid, idle and overtime hours; a group
    with one line per rep never abandons a call."""
    rows = campaign.breakdown()
    mine = [i for i, d in enumerate(rows["dimension"]) if d == "rep_group"]
    assert [rows["group"][i] for i in mine] == [name for name, _, _ in scenario.rep_groups()]
    for column in ("dials", "outbound_connects", "inbound_connects", "return_connects",
                   "voicemails_left", "opt_outs"):
        assert sum(rows[column][i] for i in mine) == m[column], column
    for column in ("rep_hours", "idle_hours", "overtime_hours"):
        assert math.isclose(sum(rows[column][i] for i in mine), m[column],
                            rel_tol=1e-9, abs_tol=1e-9), column
    for i, (_, reps, windows) in zip(mine, scenario.rep_groups()):
        paid = reps * scenario.calendar.days * sum(e - s for s, e in windows) / 3600.0
        assert math.isclose(rows["rep_hours"][i], paid)
        assert -1e-9 <= rows["idle_hours"][i] <= paid + 1e-9
    if scenario.team.lines_per_rep > 1 and all(
            g.lines_per_rep == 1 for g in scenario.team.groups):
        assert m["abandoned_calls"] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), seed=st.integers(0, 2**32), strategy=st.sampled_from(["never", "always", "rotate"]))
def test_invariants_hold_for_any_scenario(scenario, seed, strategy):
    metrics, *_ = run_campaign(scenario, strategy, seed=seed)
    check_invariants(scenario, metrics)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=group_scenarios(), seed=st.integers(0, 2**32),
       strategy=st.sampled_from(["never", "always"]))
def test_invariants_hold_with_rep_groups(scenario, seed, strategy):
    metrics, campaign, _ = run_campaign(scenario, strategy, seed=seed)
    check_invariants(scenario, metrics)
    check_group_invariants(scenario, metrics, campaign)


def test_invariants_on_shipped_scenarios(tmp_path):
    from sim.scenario.schema import load_scenario

    from .conftest import SCENARIOS

    for path in sorted(SCENARIOS.glob("*.toml")):
        if path.name.startswith("sweep"):
            continue
        scenario = load_scenario(path, ["calendar.days=2", "prospects.count=500"])
        for spec in scenario.strategies:
            metrics, *_ = run_campaign(scenario, spec.name, seed=4)
            check_invariants(scenario, metrics)
