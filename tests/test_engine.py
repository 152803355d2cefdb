"""The compiled kernel and the interpreted one are the same model, number for number.

sim/model/kernel.py is compiled by setup.py (Cython) into sim.model._kernel_compiled;
sim/experiment/engine.py chooses between them (docs/performance.md). Here: the build
exists and is current wherever a C compiler is, both builds give identical results
on every dialer mode and on generated scenarios (metrics, hourly timeline, caller-ID
numbers, every logged call), the float arithmetic the compiled kernel rewrites is
Python's, and stale or missing builds are never used silently. (The interpreted
build checks every index; the compiled one does not: agreeing here is what makes
that safe.)
"""

from __future__ import annotations

import math
import shutil
import sysconfig

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import UserError
from sim.experiment import engine
from sim.model import kernel as interpreted_kernel

from .conftest import make_scenario, run_campaign


def same(a, b) -> bool:
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def _compiler_available() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(compiler) is not None


# Without the compiled loop there is nothing to compare: the test below says whether
# its absence is a failure (a compiler was there, so the build broke) or expected.
compiled_only = pytest.mark.skipif(
    engine._compiled()[0] is None, reason="the compiled kernel is not built here")


def test_the_compiled_loop_is_built_and_current_where_a_compiler_is():
    if not _compiler_available():
        pytest.skip("no C compiler on this machine")
    module, why = engine._compiled()
    assert module is not None, why
    assert engine.select("auto").name == "compiled"


def run_with(engine_name, scenario, strategy):
    kernel = engine.select(engine_name).module
    metrics, campaign, log = run_campaign(scenario, strategy, record=True, kernel=kernel)
    return metrics, campaign.timeline(), campaign.numbers_timeline(), log.rows


def assert_engines_agree(scenario, strategy):
    (m1, t1, n1, rows1), (m2, t2, n2, rows2) = (run_with("compiled", scenario, strategy),
                                                run_with("python", scenario, strategy))
    assert m1.keys() == m2.keys()
    for name in m1:
        assert same(m1[name], m2[name]), (name, m1[name], m2[name])
    assert (t1, n1) == (t2, n2)
    assert rows1 == rows2
    return m1


SCENARIOS = {
    "power": (),
    "power, AMD, live drop, any rep": (
        "dialer.amd.enabled=true", "dialer.amd.false_machine=0.2", "dialer.amd.false_human=0.3",
        'voicemail.drop_mode="live"', 'team.inbound_routing="any_rep"',
        "callbacks.p_callback=0.5", "callbacks.p_callback_missed_call=0.2", "callbacks.delay_h=0.5"),
    "time zones and calling windows": (
        "prospects.time_zones.0.utc_offset_h=-3", "cadence.min_gap_h=1",
        "cadence.max_attempts_per_day=3", 'cadence.list_order="fresh_first"'),
    # availability that changes every hour, and up to 15 min of research: lines often
    # ring in a later hour than the dial started
    "research across hours": ('team.research_s={dist="uniform", low=0.0, high=900.0}',
                              "prospects.hourly_availability=" + str([0.2, 1.0] * 12)),
    "parallel": ("team.lines_per_rep=3",),
    "predictive": ("team.lines_per_rep=3", 'dialer.mode="predictive"'),
    "caller-ID numbers": ("caller_id.enabled=true", 'screening.scope="number"'),
    "reps busy to every window's end: overtime": ("prospects.count=3000",),
    "follow-ups and opt-outs": (
        "conversation.p_follow_up_after_connect=0.5", "opt_out.p_per_connect=0.3",
        "prospects.segments.0.p_pickup=0.9", "prospects.segments.0.reachability=0.9"),
    "parallel with embargo and callbacks": (
        "team.lines_per_rep=3", "cadence.min_gap_after_abandon_h=30",
        "callbacks.p_callback_missed_call=0.3", "callbacks.delay_h=0.5",
        'team.inbound_routing="any_rep"'),
    "channels: emails, texts, second numbers, with fading screening by number": (
        "channels.email.after_silent_miss=true", "channels.email.after_attempts=[1, 3]",
        "channels.email.p_reply=0.2", "channels.email.pickup_mult=0.9",
        "channels.email.p_opt_out=0.02", "channels.email.rep_s=20",
        "channels.email.reply_mult_after_heard_message=2", "channels.email.share_reachable=0.7",
        "channels.text.after_message=true", "channels.text.p_reply=0.3",
        "channels.text.delay_h=0.2", "channels.text.pickup_mult=1.2",
        "channels.second_number.share=0.5", "channels.second_number.pickup_mult=1.5",
        "channels.second_number.p_voicemail_box=0.3", "channels.second_number.switch_after_misses=2",
        "screening.half_life_days=2", "callbacks.hold_s=60", "prospects.segments.0.p_bad_number=0.2",
        "caller_id.enabled=true", 'screening.scope="number"', "team.lines_per_rep=2",
        "dialer.dial_level=1.5"),
    "channels on the power dialer": (
        "channels.email.after_silent_miss=true", "channels.email.p_reply=0.2",
        "channels.text.after_attempts=[1, 2]", "channels.text.p_reply=0.3",
        "channels.text.rep_s=15", "channels.second_number.share=0.6",
        "channels.second_number.switch_after_misses=1", "screening.half_life_days=1.5",
        "cadence.retry_hour_step_h=3"),
}


@compiled_only
@pytest.mark.parametrize("overrides", SCENARIOS.values(), ids=SCENARIOS.keys())
@pytest.mark.parametrize("strategy", ["never", "rotate"])
def test_compiled_and_python_engines_agree(overrides, strategy):
    assert assert_engines_agree(make_scenario(*overrides), strategy)["dials"] > 0


@st.composite
def any_dialer_scenarios(draw):
    probability = st.floats(0.0, 1.0)
    lines = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["parallel", "predictive"])) if lines > 1 else "power"
    return make_scenario(
        f"team.reps={draw(st.integers(1, 3))}",
        f"team.lines_per_rep={lines}",
        f'dialer.mode="{mode}"',
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


@compiled_only
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_dialer_scenarios(), st.sampled_from(["never", "always", "rotate"]))
def test_compiled_and_python_engines_agree_anywhere(scenario, strategy):
    assert_engines_agree(scenario, strategy)


# Python's float // and % against the compiled loop's, near multiples of the divisor
# and where a / b underflows (C's floor(a / b) is then -0.0 where a // b is -1.0).
def _near_multiples():
    divisor = st.sampled_from([3600.0, 86400.0])
    multiple = st.integers(-40, 2_000)
    step = st.sampled_from([-math.inf, math.inf, None])

    @st.composite
    def build(draw):
        b, k, towards = draw(divisor), draw(multiple), draw(step)
        a = k * b if towards is None else math.nextafter(k * b, towards)
        return a, b

    return build()


_tiny = st.floats(-1e-300, 1e-300).map(lambda a: (a, 3600.0))


@compiled_only
@settings(max_examples=2_000, deadline=None)
@given(st.one_of(_near_multiples(), _tiny,
                 st.tuples(st.floats(-1e7, 1e8), st.sampled_from([3600.0, 86400.0]))))
def test_compiled_float_division_is_pythons(case):
    a, b = case
    compiled = engine._compiled()[0]
    assert compiled.float_ops(a, b) == (a // b, a % b)
    assert interpreted_kernel.float_ops(a, b) == (a // b, a % b)


def test_the_correction_is_needed():
    """C's floor(a / b) is not always Python's a // b (the compiled loop corrects it)."""
    a = -5e-324  # a / b underflows to -0.0
    assert math.floor(a / 3600.0) == 0 and a // 3600.0 == -1.0
    compiled = engine._compiled()[0]
    if compiled is not None:
        assert compiled.float_ops(a, 3600.0) == (-1.0, a % 3600.0)


def test_a_stale_build_is_not_used(monkeypatch):
    if engine._compiled()[0] is None:
        pytest.skip("no compiled loop here")
    engine._compiled.cache_clear()
    monkeypatch.setattr(engine, "source_sha256", lambda path=engine.SOURCE: "0" * 64)
    try:
        module, why = engine._compiled()
        assert module is None and "out of date" in why
        with pytest.warns(RuntimeWarning, match="pure-Python kernel"):
            engine._warn_once.cache_clear()
            assert engine.select("auto").name == "python"
        with pytest.raises(UserError, match="DIALSIM_ENGINE=compiled.*out of date"):
            engine.select("compiled")
    finally:
        engine._compiled.cache_clear()


def test_a_bad_engine_choice_names_the_variable(monkeypatch):
    monkeypatch.setenv("DIALSIM_ENGINE", "fast")
    with pytest.raises(UserError, match="DIALSIM_ENGINE='fast': must be one of auto, compiled, python"):
        engine.select()
    monkeypatch.setenv("DIALSIM_ENGINE", "python")
    assert engine.select().name == "python"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.booleans()), min_size=1, max_size=3000))
def test_the_retry_list_gives_keys_back_in_order_as_it_grows(pushes):
    """The sorted run and the heap, grown from their first 1,024 slots: every prospect
    pushed comes off in (time, prospect) order. (The interpreted build: its methods are
    callable from Python and it checks every index.)"""
    scenario = make_scenario("prospects.count=5000")
    _, campaign, _ = run_campaign(scenario, "never", kernel=interpreted_kernel)
    k = campaign.kernel
    k.run_first = k.run_size = k.heap_size = 0
    keys = []
    for p, (hour, late) in enumerate(pushes):
        t = 1e6 + hour * 3600.0 + (0.5 if late else 0.0)
        k.retry_push(t, p)
        keys.append((t, p))
    popped = []
    while (p := k._retry_pop_due(float("inf"))) >= 0:
        popped.append(p)
    assert popped == [p for _, p in sorted(keys)]
    assert k.run_capacity <= 5000 and k.heap_capacity <= 5000
