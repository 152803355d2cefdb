"""Crashes in the model found by issue 11, now fixed by the kernel rewrite: keep them fixed.

A callback delay shorter than the call it answers (about 4 s: the voicemail or missed
call is still going on) scheduled the callback in the past, and simpy raised
``ValueError: Negative delay``. Any delay the schema accepts must simulate.
"""

from __future__ import annotations

import pytest

from .conftest import make_scenario, run_campaign


@pytest.mark.parametrize("delay", ["0", "0.0005", '{dist="exponential", mean=0.01}'])
def test_callback_delays_of_any_length_simulate(delay):
    scenario = make_scenario(f"callbacks.delay_h={delay}", "callbacks.p_callback=0.5",
                             "callbacks.p_callback_missed_call=0.5")
    metrics, _campaign, _ = run_campaign(scenario, "always")
    assert metrics["callbacks_received"] > 0
