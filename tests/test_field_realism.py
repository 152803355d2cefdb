"""Field realism (issue 13): each mechanism on its own, with a test that failed before
its rule was right."""

from __future__ import annotations

from sim.model.codes import DAY_S

from .conftest import make_scenario, run_campaign

# callbacks and missed callbacks galore, so return calls happen all day
_BUSY_CALLBACKS = (
    "callbacks.p_callback=0.9", "callbacks.p_listen=1.0", "callbacks.p_callback_missed_call=0.3",
    "callbacks.p_message_on_missed_callback=1.0", "callbacks.delay_h=0.2",
    "prospects.count=1500", "team.reps=3", "calendar.days=3",
)


def _local_clock_s(campaign, row):
    return (row["time_s"] + campaign.world.utc_offset_s[row["prospect"]]) % DAY_S


def test_return_calls_wait_for_the_prospects_calling_window():
    """Prospects three hours behind the team: at 09:00 it is 06:00 for them, before
    their 08:00 window. A return call waits until the window opens (it used to go out
    at once, and be answered at the full probability)."""
    scenario = make_scenario(*_BUSY_CALLBACKS, "prospects.time_zones.0.utc_offset_h=-3",
                             'prospects.calling_window_start="08:00"')
    _, campaign, log = run_campaign(scenario, "always", record=True)
    returns = [row for row in log.rows if row["direction"] == "return"]
    assert len(returns) > 50
    for row in returns:
        assert 8 * 3600.0 <= _local_clock_s(campaign, row) < 21 * 3600.0, row


def test_return_calls_meet_the_prospects_availability():
    """At a local hour when nobody is at the phone (availability 0 inside the calling
    window) no return call is answered."""
    hourly = [1.0] * 24
    for hour in (10, 15):
        hourly[hour] = 0.0
    scenario = make_scenario(*_BUSY_CALLBACKS, f"prospects.hourly_availability={hourly}",
                             "callbacks.return_call_answer_prob=1.0")
    _, campaign, log = run_campaign(scenario, "always", record=True)
    by_hour = {}
    for row in log.rows:
        if row["direction"] == "return":
            hour = int(_local_clock_s(campaign, row) // 3600)
            by_hour.setdefault(hour, []).append(row["outcome"])
    unavailable = by_hour.get(10, []) + by_hour.get(15, [])
    assert len(unavailable) > 20  # return calls were placed then
    assert set(unavailable) == {"return_no_answer"}
    assert "return_connect" in by_hour.get(9, []) + by_hour.get(14, [])


def test_no_callback_is_taken_outside_a_work_window():
    """A rep whose last line rings past the window's close must not take a callback in
    the break or after the shift."""
    scenario = make_scenario(*_BUSY_CALLBACKS, "callbacks.delay_h=0.05",
                             "dialer.ring_timeout_s=60", 'team.inbound_routing="any_rep"')
    windows = scenario.calendar.work_windows_s()
    _, campaign, log = run_campaign(scenario, "always", record=True)
    taken = [row for row in log.rows if row["outcome"] == "inbound_connect"]
    assert len(taken) > 50
    for row in taken:
        clock = row["time_s"] % DAY_S
        assert any(start <= clock < end for start, end in windows), row
