"""The map's and optimiser's abandon cap is held with confidence, not on average."""

from __future__ import annotations

import numpy as np

from sim.analysis.objective import max_abandon


def test_a_mean_under_the_cap_with_an_interval_over_it_breaks_it():
    cap = max_abandon(0.03)[0]
    noisy = {"abandon_rate_with_amd": np.array([0.020, 0.035, 0.028, 0.031])}  # mean 0.0285
    assert noisy["abandon_rate_with_amd"].mean() < 0.03
    assert not cap.ok(noisy)
    tight = {"abandon_rate_with_amd": np.array([0.025, 0.026, 0.0255, 0.0252])}
    assert cap.ok(tight)
    never_abandons = {"abandon_rate_with_amd": np.zeros(3)}  # a power dialer
    assert cap.ok(never_abandons)
    assert not cap.ok({"abandon_rate_with_amd": np.array([0.04])})
