"""The compiled rep loop and the Python one are the same model, number for number.

sim/model/kernel.py is compiled by setup.py (Cython) into sim.model._kernel_compiled;
sim/experiment/engine.py chooses between them (docs/performance.md). Here: the build exists and
is current wherever a C compiler is, both engines give identical results on every
dialer mode (metrics, hourly timeline, caller-ID numbers, every logged call), the
float arithmetic the compiled loop rewrites is Python's, and stale or missing builds
are never used silently.
"""

from __future__ import annotations

import math
import shutil
import sysconfig

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.experiment import engine
from sim.model import kernel as rep_process
from sim.errors import UserError
from sim.model.campaign import Campaign

from .conftest import make_scenario, run_campaign
from .test_fast_path import same


def _compiler_available() -> bool:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(compiler) is not None


# Without the compiled loop there is nothing to compare: the test below says whether
# its absence is a failure (a compiler was there, so the build broke) or expected.
compiled_only = pytest.mark.skipif(
    engine._compiled()[0] is None, reason="the compiled rep loop is not built here")


def test_the_compiled_loop_is_built_and_current_where_a_compiler_is():
    if not _compiler_available():
        pytest.skip("no C compiler on this machine")
    module, why = engine._compiled()
    assert module is not None, why
    assert engine.select("auto").name == "compiled"


def run_with(engine_name, scenario, strategy):
    Campaign.engine = engine_name
    try:
        metrics, campaign, log = run_campaign(scenario, strategy, record=True)
    finally:
        Campaign.engine = None
    assert campaign.engine_used.name == engine_name
    return metrics, campaign.timeline(), campaign.numbers_timeline(), log.rows


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
}


@compiled_only
@pytest.mark.parametrize("overrides", SCENARIOS.values(), ids=SCENARIOS.keys())
@pytest.mark.parametrize("strategy", ["never", "rotate"])
def test_compiled_and_python_engines_agree(overrides, strategy):
    scenario = make_scenario(*overrides)
    compiled = run_with("compiled", scenario, strategy)
    python = run_with("python", scenario, strategy)
    (m1, t1, n1, rows1), (m2, t2, n2, rows2) = compiled, python
    assert m1["dials"] > 0
    for name in m1:
        assert same(m1[name], m2[name]), (name, m1[name], m2[name])
    assert (t1, n1) == (t2, n2)
    assert rows1 == rows2


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
    assert rep_process.float_ops(a, b) == (a // b, a % b)


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
        with pytest.warns(RuntimeWarning, match="pure-Python rep loop"):
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
