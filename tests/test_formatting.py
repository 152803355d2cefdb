"""The one interval formatter (sim.analysis.formatting): every shape, every edge."""

from __future__ import annotations

import math

from sim.analysis.compare import fmt_number
from sim.analysis.formatting import (interval_text, low_to_high, mean_and_range,
                                     mean_range_html, plus_minus, plus_minus_range)
from sim.analysis.stats import Interval, t_interval


def test_plus_minus_shapes():
    assert plus_minus(4.1234, 0.25) == "4.12 ± 0.25"
    assert plus_minus(0.5, 0.125, "+.2f") == "+0.50 ± 0.12"  # the sign is the mean's only
    assert plus_minus(3.0, math.inf) == "3.00"  # one replication: no interval
    assert plus_minus(math.nan, 0.1) == "-" and plus_minus(None, None) == "-"
    assert plus_minus_range(-0.2, -0.5, 0.1, "+.2f") == "-0.20 ± 0.30"
    assert plus_minus_range(1.0, math.nan, math.nan) == "1.00"
    assert plus_minus_range(1.0, None, None, ".1f") == "1.0"


def test_interval_text_follows_the_interval():
    assert interval_text(t_interval([1.0, 2.0, 3.0]), ".1f") == "2.0 ± 2.5"
    assert interval_text(t_interval([2.0])) == "2.00"
    assert interval_text(t_interval([])) == "-"
    assert interval_text(Interval(1.5, 0.0, 3, 0.0), "+.1f") == "+1.5 ± 0.0"


def test_ranges_and_the_report_shape():
    assert low_to_high(-0.01234, 0.5, fmt_number) == "-0.012 to 0.50"
    assert low_to_high(1.0, 2.0, "+.3g") == "+1 to +2"
    assert mean_and_range(2.0, 1.5, 2.5) == {"mean": "2.00", "ci": "1.50 to 2.50"}
    assert mean_and_range(2.0, -math.inf, math.inf, ".3f") == {"mean": "2.000", "ci": None}
    assert mean_and_range(math.inf, 1.0, 2.0) == {"mean": "-", "ci": None}
    assert mean_and_range(12.5, 10.0, 15.0, unit="%") == {"mean": "12.50%", "ci": "10.00 to 15.00"}
    assert mean_range_html(1.0, 0.5, 1.5, ".1f") == "1.0 <span class=ci>(0.5 to 1.5)</span>"
    assert mean_range_html(1.0, math.nan, math.nan) == "1.00"
    assert mean_range_html(0.1, 0.0, 0.2, lambda x: f"<{x:.1f}>") == (
        "&lt;0.1&gt; <span class=ci>(&lt;0.0&gt; to &lt;0.2&gt;)</span>")
