"""Pacing controller and caller-ID pool, each on its own (no simulation)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiment.engine import select
from sim.model import kernel as interpreted
from sim.scenario.schema import CallerId

# the build dialsim runs (compiled where it could be built); the interpreted source
# must agree, and is what hypothesis explores
kernel = select(warn=False).module
expected_abandon_rate = kernel.expected_abandon_rate
level_for_abandon_rate = kernel.level_for_abandon_rate


@given(level=st.floats(1.0, 6.0), batches=st.integers(1, 400))
def test_dithered_lines_average_to_the_level(level, batches):
    pacer = kernel.Pacer(level, reps=2)
    total = sum(pacer.lines_for(0) for _ in range(batches))
    assert abs(total - level * batches) < 1 + 1e-9
    assert all(kernel.Pacer(level, reps=1).lines_for(0) >= 1 for _ in range(3))
    assert pacer.lines_for(1) == kernel.Pacer(level, reps=1).lines_for(0)  # per rep


def _controller(**kw):
    args = dict(target_abandon_rate=0.03, window_live_answers=100, warmup_live_answers=10,
                min_level=1.0, max_level=5.0, gain=0.05, answer_window_lines=200)
    level = kw.pop("initial_level", 2.0)
    args.update(kw)
    return kernel.Pacer(level, 1, adapts=True, **args)


@given(q=st.floats(0.01, 0.9), level=st.floats(1.0, 8.0))
def test_expected_abandon_rate_rises_with_level_and_inverts(q, level):
    a = expected_abandon_rate(q, level)
    assert 0 <= a < 1
    assert expected_abandon_rate(q, level + 0.5) >= a
    if 0 < a:
        assert level_for_abandon_rate(q, a, 1.0, 8.0) == pytest.approx(level, abs=1e-6)


def test_expected_abandon_rate_matches_a_direct_count():
    """Two lines, answer prob q: P(both answer) = q^2 of 2q expected answers abandoned."""
    q = 0.2
    assert expected_abandon_rate(q, 2) == pytest.approx(q * q / (2 * q))


def _feed(c, batches, lines, q_live, abandoned_share):
    rng = np.random.default_rng(0)
    for _ in range(batches):
        c.dialled(lines)
        for _ in range(rng.binomial(lines, q_live)):
            c.record(abandoned=rng.random() < abandoned_share)
        c.adjust()


def test_controller_dials_more_lines_when_fewer_people_answer():
    busy, quiet = _controller(), _controller()
    _feed(busy, 2000, 2, 0.15, 0.03)
    _feed(quiet, 2000, 2, 0.05, 0.03)
    assert quiet.level > busy.level
    assert quiet.answer_rate() == pytest.approx(0.05, rel=0.35)


def test_trim_falls_when_abandoning_too_much_and_is_bounded():
    c = _controller()
    _feed(c, 3000, 2, 0.1, 0.10)  # observed 10% against a 3% target
    assert c.trim == 0.25
    low = c.level
    c2 = _controller()
    _feed(c2, 3000, 2, 0.1, 0.0)
    assert c2.trim == 4.0 and c2.level > low
    assert 1.0 <= low and c2.level <= 5.0


@given(st.integers(1, 5), st.integers(1, 40), st.integers(10, 50))
def test_answer_rate_stays_a_probability_when_answers_outrun_lines(lines, answers, window):
    """Answers of earlier batches can land together (a short window, large scale): the
    estimate must stay in [0, 1] and the level real and within its bounds."""
    pacing = kernel.Pacer(1.5, 1, adapts=True, target_abandon_rate=0.03,
                          window_live_answers=10, warmup_live_answers=1, min_level=1.0,
                          max_level=3.0, gain=0.01, answer_window_lines=window)
    pacing.dialled(lines)
    for _ in range(answers):
        pacing.record(False)
    assert 0.0 <= pacing.answer_rate() <= 1.0
    pacing.adjust()  # was: '>' not supported between 'complex' and 'float' (issue 11)
    assert isinstance(pacing.level, float) and 1.0 <= pacing.level <= 3.0


def test_controller_waits_for_warmup():
    c = _controller(warmup_live_answers=50)
    c.dialled(2)
    for _ in range(49):
        c.record(abandoned=True)
    c.adjust()
    assert c.level == 2.0 and c.trim == 1.0


def test_controller_holds_a_simulated_plant_at_target():
    """A plant that follows the batch rule (every person after the first in a batch is
    abandoned) with an answer rate that swings through the 'day': the long-run
    abandon rate (per live answer) must sit in the binomial band around the target."""
    rng = np.random.default_rng(3)
    c = _controller(initial_level=2.0, gain=0.01, window_live_answers=200,
                    warmup_live_answers=50, answer_window_lines=500)
    abandoned = answers = 0
    for batch in range(200_000):
        q = 0.08 + 0.06 * math.sin(batch / 3000)
        c.adjust()
        n = c.lines_for(0)
        c.dialled(n)
        people = rng.binomial(n, q)
        for i in range(people):
            c.record(i > 0)
        if batch >= 20_000:
            answers += people
            abandoned += max(0, people - 1)
    rate = abandoned / answers
    assert abs(rate - 0.03) < 3.3 * math.sqrt(0.03 * 0.97 / answers), rate


def _pool(**kw):
    cfg = CallerId(enabled=True, **kw)
    days = 5
    n = cfg.numbers_per_pool * (3 if cfg.pool == "per_rep" else 1)
    return kernel.CallerIdNumbers(cfg, reps=3, days=days, label_draws=np.full((days, n), 0.5))


def test_fixed_rotation_keeps_one_number_per_rep():
    pool = _pool(numbers_per_pool=4, rotation="fixed")
    assert [pool.number_for(r) for r in (0, 0, 1, 2)] == [0, 0, 4, 8]
    team = _pool(pool="team", numbers_per_pool=2, rotation="fixed")
    assert [team.number_for(r) for r in (0, 1, 2)] == [0, 1, 0]


def test_round_robin_and_least_used_spread_dials():
    rr = _pool(numbers_per_pool=3, rotation="round_robin")
    assert [rr.number_for(1) for _ in range(7)] == [3, 4, 5, 3, 4, 5, 3]
    lu = _pool(pool="team", numbers_per_pool=3, rotation="least_used")
    used = []
    for _ in range(9):
        n = lu.number_for(0)
        lu.record(n, True)
        used.append(n)
    assert sorted(used) == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_label_hazard_and_expiry():
    pool = _pool(pool="team", numbers_per_pool=2, hazard_per_short_call=0.1,
                 free_short_calls_per_day=10, label_days=2)
    for _ in range(20):
        pool.record(0, True)  # excess 10: P(label) = 1 - e^-1 = 0.63 > draw 0.5
    for _ in range(15):
        pool.record(1, True)  # excess 5: P = 1 - e^-0.5 = 0.39 < draw 0.5
    pool.end_of_day(0)
    assert pool.is_labelled(0) and not pool.is_labelled(1)
    assert pool.pickup_mult(0) == pytest.approx(0.375)
    assert pool.pickup_mult(1) == 1.0
    pool.end_of_day(1)
    assert pool.is_labelled(0)
    pool.end_of_day(2)
    assert not pool.is_labelled(0)  # the label lasted two days
    assert pool.timeline["labelled_today"][:2] == [True, False]
    assert pool.timeline["dials"][:2] == [20, 15]


def test_the_answer_rate_stays_a_probability():
    """More live answers than lines (AMD hang-ups count as live answers of lines the
    estimate has already discounted) once made the estimate exceed 1 and the level a
    complex number; it is capped at 1 and the level stays in range."""
    for build in (kernel, interpreted):
        c = build.Pacer(2.0, 1, adapts=True, warmup_live_answers=1, max_level=5.0)
        c.dialled(1)
        for _ in range(5):
            c.record(True)
        assert c.answer_rate() == 1.0
        c.adjust()
        assert 1.0 <= c.level <= 5.0


@given(q=st.floats(0.001, 1.0), level=st.floats(1.0, 8.0))
def test_both_builds_compute_the_same_pacing(q, level):
    assert kernel.expected_abandon_rate(q, level) == interpreted.expected_abandon_rate(q, level)
    assert (kernel.level_for_abandon_rate(q, 0.03, 1.0, 8.0)
            == interpreted.level_for_abandon_rate(q, 0.03, 1.0, 8.0))


def _plain_bisection(q, target, low, high):
    """The rule as first written: expected_abandon_rate at every midpoint."""
    if not (q > 0) or expected_abandon_rate(q, high) <= target:
        return high
    if expected_abandon_rate(q, low) >= target:
        return low
    for _ in range(40):
        mid = 0.5 * (low + high)
        if expected_abandon_rate(q, mid) < target:
            low = mid
        else:
            high = mid
    return low


@settings(max_examples=3000, deadline=None)
@given(q=st.floats(1e-9, 1.0), target=st.floats(1e-9, 0.9),
       low=st.sampled_from([1.0, 1.0, 2.0, 1.25, 1.7]),
       span=st.sampled_from([0.5, 1.0, 2.0, 4.0, 7.0, 19.0, 99.0, 160.3]),
       guess=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_the_steered_bisection_is_the_plain_one(q, target, low, span, guess):
    """Same level to the last bit: the root decides only the steps it cannot get wrong,
    from any last level (``guess``), with whole-number ends (the skipped steps) or not,
    and where (1-q)^n underflows (q near 1, 160 lines)."""
    high = low + span
    start = math.nan if guess is None else low + guess * span
    want = _plain_bisection(q, target, low, high)
    for build in (kernel, interpreted):
        assert build.level_for_abandon_rate(q, target, low, high, start) == want
        assert build.bisect_level(q, target, low, high) == want


def test_the_steered_bisection_on_a_million_random_paces():
    """The compiled solver against the plain rule on 1,000,000 inputs like a campaign's
    (q 0.1%-100%, targets 0.1%-10%, 1-20 lines, the last level as the guess)."""
    rng = np.random.default_rng(11)
    n = 1_000_000
    q = 10 ** rng.uniform(-3, 0, n)
    target = 10 ** rng.uniform(-3, -1, n)
    high = rng.choice([2.0, 3.0, 5.0, 8.0, 20.0], n)
    guess = 1.0 + (high - 1.0) * rng.random(n)
    fast = np.array([kernel.level_for_abandon_rate(*args)
                     for args in zip(q, target, np.ones(n), high, guess)])
    plain = np.array([kernel.bisect_level(*args) for args in zip(q, target, np.ones(n), high)])
    assert np.array_equal(fast, plain)
