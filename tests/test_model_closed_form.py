"""Closed-form checks: where the model reduces to a renewal process, it must agree.

Tolerances come from the statistics: a 99.9% Student-t interval over independent
replications (fixed seeds, so the test is deterministic; a correct model fails it
with probability 0.1% over seeds), or a binomial band.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.experiment.executors import SerialExecutor
from sim.experiment.replications import run_experiment

from .conftest import make_scenario

# One rep, one line, fixed durations, no screening, no callbacks, no opt-outs, each
# prospect dialled once (so no history), a list far longer than the rep can dial.
RENEWAL = (
    "team.reps=1", "team.lines_per_rep=1", "calendar.days=5",
    'calendar.shift_start="09:00"', 'calendar.shift_end="17:00"',
    "calendar.break_start=null", "calendar.break_end=null",
    "prospects.count=6000", "cadence.max_attempts=1",
    "dialer.connect_setup_s=2", "dialer.ring_delay_s=8", "dialer.ring_timeout_s=20",
    "dialer.bad_number_s=4", "dialer.vm_recognise_s=4",
    "conversation.talk_s=90", "conversation.wrap_s=30", "conversation.gatekeeper_talk_s=25",
    "screening.answer_mult_per_silent_miss=1", "screening.answer_mult_per_voicemail=1",
    "callbacks.p_callback=0", "callbacks.p_callback_missed_call=0",
    "opt_out.p_per_connect=0", "opt_out.p_per_heard_voicemail=0",
    "prospects.segments.0.reachability_concentration=null",
    "prospects.segments.0.p_bad_number=0.05", "prospects.segments.0.reachability=0.3",
    "prospects.segments.0.p_pickup=0.25", "prospects.segments.0.p_voicemail_box=0.8",
    "prospects.segments.0.p_right_party=0.75",
    "voicemail.drop_mode=\"recorded\"",
)


def _renewal_scenario(*extra):
    return make_scenario(*RENEWAL, *extra)


def _cycle_moments(p_bad=0.05, reach=0.3, pickup=0.25, vm_box=0.8, right=0.75):
    """(P(connect), E[cycle], E[cycle^2]) of the one-rep renewal process, seconds."""
    p_live = (1 - p_bad) * reach * pickup
    p_rest = (1 - p_bad) * (1 - reach * pickup)
    outcomes = [  # probability, rep seconds per dial
        (p_bad, 2 + 4),
        (p_live * right, 2 + 8 + 90 + 30),  # connect: setup, ring, talk, wrap
        (p_live * (1 - right), 2 + 8 + 25),  # gatekeeper
        (p_rest * vm_box, 2 + 20 + 4),  # voicemail: ring timeout, recognise (drop is free)
        (p_rest * (1 - vm_box), 2 + 20),  # no answer
    ]
    assert math.isclose(sum(p for p, _ in outcomes), 1.0)
    mean = sum(p * c for p, c in outcomes)
    second = sum(p * c * c for p, c in outcomes)
    return p_live * right, mean, second


def test_connects_per_hour_matches_renewal_closed_form():
    scenario = _renewal_scenario()
    result = run_experiment(scenario, seed=5, replications=20, strategies=("always",),
                            executor=SerialExecutor())
    p_connect, mean_cycle, second = _cycle_moments()
    window_s = 8 * 3600
    # Cycles started in a window of T seconds: T/mu + E[C^2]/(2 mu^2) (renewal theory);
    # each is a connect with probability p (Wald), counted even if it ends after T.
    cycles = window_s / mean_cycle + second / (2 * mean_cycle**2)
    expected = 3600 * p_connect * cycles / window_s
    naive = 3600 * p_connect / mean_cycle  # the formula; differs by < 0.5% here
    assert abs(expected / naive - 1) < 0.005

    values = np.array(result.values("always", "connects_per_rep_hour"))
    se = values.std(ddof=1) / math.sqrt(values.size)
    t = stats.t.ppf(0.9995, values.size - 1)
    assert abs(values.mean() - expected) <= t * se, (values.mean(), expected, t * se)

    dials = np.array(result.values("always", "dials_per_rep_hour"))
    expected_dials = 3600 * cycles / window_s
    se = dials.std(ddof=1) / math.sqrt(dials.size)
    assert abs(dials.mean() - expected_dials) <= t * se, (dials.mean(), expected_dials)


def test_rep_never_idle_and_split_matches_cycle_parts():
    """With an endless list the rep is never idle and talk time = connects x 90 s."""
    scenario = _renewal_scenario()
    result = run_experiment(scenario, seed=9, replications=2, strategies=("never",),
                            executor=SerialExecutor())
    for row in result.replications[0].rows:
        assert row["idle_hours"] == 0
        talk_s = row["outbound_connects"] * 90 + row["gatekeeper_answers"] * 25
        # talk that ran past 17:00 is overtime, so paid talk is at most that
        assert row["talking_hours"] * 3600 <= talk_s + 1e-6
        assert row["talking_hours"] * 3600 >= talk_s - 5 * 130  # at most one call per day cut
        # Exact identity: all rep time (paid split + overtime) is the sum of cycle
        # lengths by outcome. Any error in one outcome's timing breaks it.
        busy_s = 3600 * (row["dialling_hours"] + row["talking_hours"] + row["voicemail_hours"]
                         + row["wrapup_hours"] + row["overtime_hours"])
        cycles_s = (row["bad_numbers"] * 6 + row["outbound_connects"] * 130
                    + row["gatekeeper_answers"] * 35 + row["voicemails_reached"] * 26
                    + row["no_answers"] * 22)
        assert math.isclose(busy_s, cycles_s, rel_tol=1e-9), (busy_s, cycles_s)
        assert row["dials"] == (row["bad_numbers"] + row["outbound_connects"]
                                + row["gatekeeper_answers"] + row["voicemails_reached"]
                                + row["no_answers"])


def _binomial_band(n: int, p: float, z: float = 3.29) -> tuple[float, float]:
    """n*p +/- z*sd: a 99.9% normal-approximation band for a binomial count."""
    sd = math.sqrt(n * p * (1 - p))
    return n * p - z * sd, n * p + z * sd


def test_callbacks_are_heard_messages_times_p_callback():
    p_callback, p_listen = 0.05, 0.5
    scenario = _renewal_scenario(
        f"callbacks.p_callback={p_callback}", f"callbacks.p_listen={p_listen}",
        "callbacks.repeat_message_mult=1", "callbacks.delay_h=0.01",
        "prospects.segments.0.callback_propensity_sigma=0",
    )
    result = run_experiment(scenario, seed=3, replications=6, strategies=("always",),
                            executor=SerialExecutor())
    left = sum(result.values("always", "voicemails_left"))
    heard = sum(result.values("always", "voicemails_heard"))
    received = sum(result.values("always", "callbacks_received"))
    low, high = _binomial_band(left, p_listen)
    assert low <= heard <= high, (heard, left)
    low, high = _binomial_band(heard, p_callback)
    assert low <= received <= high, (received, heard)


@pytest.mark.parametrize("lines", [1, 2])  # the inline power dial and the method path
def test_repeated_message_is_returned_less_often(lines):
    """rotate (fresh messages) is called back more than always (the same message)."""
    scenario = make_scenario(
        f"team.lines_per_rep={lines}", "calendar.days=6", "cadence.max_attempts=6", "cadence.min_gap_h=20",
        "callbacks.p_callback=0.2", "callbacks.repeat_message_mult=0.2",
        "callbacks.p_callback_missed_call=0", "prospects.count=300",
    )
    result = run_experiment(scenario, seed=2, replications=4, strategies=("always", "rotate"),
                            executor=SerialExecutor())
    always = sum(result.values("always", "callbacks_received"))
    rotate = sum(result.values("rotate", "callbacks_received"))
    assert rotate > always * 1.3, (rotate, always)
