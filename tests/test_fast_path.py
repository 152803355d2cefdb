"""The power dialer's inline hot path gives exactly what the per-step methods give.

``sim.model.kernel.rep_shifts`` writes the power-dialer dial out inline
(docs/performance.md); the reference version (``inline_power_dial = False``) is built
from ``_start_attempt``, ``_plan_line``, ``_rep_handling``, ``_account`` and
``_apply``, like the parallel dialer. A rule changed in one and not the other fails
here.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.campaign import Campaign

from .conftest import make_scenario, run_campaign


def run_both(scenario, strategy):
    out = []
    for inline in (True, False):
        Campaign.inline_power_dial = inline
        try:
            metrics, campaign, log = run_campaign(scenario, strategy, record=True)
        finally:
            Campaign.inline_power_dial = True
        out.append((metrics, campaign.timeline(), log.rows))
    return out


def same(a, b) -> bool:
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def assert_identical(scenario, strategy):
    (m1, t1, rows1), (m2, t2, rows2) = run_both(scenario, strategy)
    assert m1["dials"] > 0
    assert m1.keys() == m2.keys()
    for name in m1:
        assert same(m1[name], m2[name]), (name, m1[name], m2[name])
    assert t1 == t2
    assert rows1 == rows2


@pytest.mark.parametrize("overrides", [
    (),
    ("prospects.count=3000",),  # reps busy to the end of every window: overtime
    ("dialer.amd.enabled=true", "dialer.amd.false_machine=0.2", "dialer.amd.false_human=0.3"),
    ('voicemail.drop_mode="live"', "callbacks.p_callback=0.6", "callbacks.p_listen=1.0"),
    ('team.inbound_routing="any_rep"', 'cadence.list_order="fresh_first"',
     "callbacks.p_callback_missed_call=0.3", "callbacks.delay_h=0.5"),
    ("prospects.time_zones.0.utc_offset_h=5", "cadence.min_gap_h=1",
     "cadence.max_attempts_per_day=3", "calendar.break_start=null", "calendar.break_end=null"),
    # availability by the hour the line rings, after up to 15 min of research
    ('team.research_s={dist="uniform", low=0.0, high=900.0}',
     "prospects.hourly_availability=" + str([0.2, 1.0] * 12)),
    ("conversation.p_follow_up_after_connect=0.5", "opt_out.p_per_connect=0.3",
     "prospects.segments.0.p_pickup=0.9", "prospects.segments.0.reachability=0.9"),
])
@pytest.mark.parametrize("strategy", ["never", "rotate"])
def test_inline_power_dial_matches_the_reference(overrides, strategy):
    assert_identical(make_scenario(*overrides), strategy)


@st.composite
def power_dialer_scenarios(draw):
    probability = st.floats(0.0, 1.0)
    return make_scenario(
        f"team.reps={draw(st.integers(1, 3))}",
        f'team.inbound_routing="{draw(st.sampled_from(["own_rep", "any_rep"]))}"',
        f"prospects.count={draw(st.integers(5, 200))}",
        f"cadence.max_attempts={draw(st.integers(1, 5))}",
        f"cadence.min_gap_h={draw(st.floats(0, 30))}",
        f"cadence.max_attempts_per_day={draw(st.integers(1, 3))}",
        f"dialer.amd.enabled={str(draw(st.booleans())).lower()}",
        f'voicemail.drop_mode="{draw(st.sampled_from(["recorded", "live"]))}"',
        f"callbacks.p_callback={draw(probability)}",
        f"callbacks.p_callback_missed_call={draw(st.floats(0, 0.3))}",
        f"callbacks.delay_h={draw(st.floats(0.01, 30))}",
        f"prospects.segments.0.p_pickup={draw(probability)}",
        f"prospects.segments.0.reachability={draw(probability)}",
        f"prospects.time_zones.0.utc_offset_h={draw(st.sampled_from([-8, -3, 0, 1, 5]))}",
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(power_dialer_scenarios(), st.sampled_from(["never", "always", "rotate"]))
def test_inline_power_dial_matches_the_reference_anywhere(scenario, strategy):
    (m1, t1, rows1), (m2, t2, rows2) = run_both(scenario, strategy)
    for name in m1:
        assert same(m1[name], m2[name]), (name, m1[name], m2[name])
    assert t1 == t2
    assert rows1 == rows2
