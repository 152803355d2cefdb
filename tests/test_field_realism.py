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


def _outcomes_by_prospect(log):
    seen = {}
    for row in log.rows:
        if row["direction"] == "outbound":
            seen.setdefault(row["prospect"], set()).add(row["outcome"])
    return seen


def test_a_voicemail_box_belongs_to_the_line():
    """Per line, a prospect whose calls ring out never reaches voicemail on another dial
    (and the share of lines with a box is p_voicemail_box); per dial, many do both."""
    common = ("prospects.count=1200", "prospects.segments.0.p_voicemail_box=0.6",
              "prospects.segments.0.p_pickup=0.05", "cadence.min_gap_h=2",
              "cadence.max_attempts_per_day=3")
    per_line = _outcomes_by_prospect(run_campaign(make_scenario(*common), "never", record=True)[2])
    mixed = [p for p, o in per_line.items() if "no_answer" in o and "voicemail_silent" in o]
    assert not mixed
    per_dial = _outcomes_by_prospect(run_campaign(
        make_scenario(*common, 'prospects.voicemail_box="dial"'), "never", record=True)[2])
    assert sum("no_answer" in o and "voicemail_silent" in o for o in per_dial.values()) > 100
    # lines with a box, among prospects whose line answered with either: about 0.6
    decided = [o for o in per_line.values() if o & {"no_answer", "voicemail_silent"}]
    share = sum("voicemail_silent" in o for o in decided) / len(decided)
    assert abs(share - 0.6) < 3.3 * (0.6 * 0.4 / len(decided)) ** 0.5


def test_screening_fades_with_its_half_life():
    """Closed form: a multiplier m set at time s is m ** (0.5 ** ((t - s) / half-life))."""
    from sim.model import kernel as interpreted

    scenario = make_scenario("screening.half_life_days=2")
    _, campaign, _ = run_campaign(scenario, "never", kernel=interpreted)
    k = campaign.kernel
    assert k.faded(0.25, 0.0, 2 * 86400.0) == 0.5
    assert k.faded(0.25, 0.0, 4 * 86400.0) == 0.25 ** 0.25
    assert k.faded(0.25, 86400.0, 86400.0) == 0.25


def test_fading_screening_gives_back_connects():
    """Hard screening (each silent miss halves pick-up): the shorter the memory, the
    more connects, paired on the same prospects."""
    base = ("screening.answer_mult_per_silent_miss=0.5", "calendar.days=5",
            "cadence.min_gap_h=20", "prospects.count=1500")
    for seed in (1, 2, 3):
        permanent, *_ = run_campaign(make_scenario(*base), "never", seed=seed)
        fading, *_ = run_campaign(make_scenario(*base, "screening.half_life_days=1"), "never",
                                  seed=seed)
        assert fading["outbound_connects"] > permanent["outbound_connects"]


def test_each_kind_of_miss_can_weigh_differently():
    """If calls that ring out teach nothing, prospects without a box keep answering."""
    base = ("screening.answer_mult_per_silent_miss=0.4", "prospects.segments.0.p_voicemail_box=0.3",
            "calendar.days=5", "prospects.count=1500")
    for seed in (1, 2):
        every_miss, *_ = run_campaign(make_scenario(*base), "always", seed=seed)
        not_rang_out, *_ = run_campaign(
            make_scenario(*base, "screening.answer_mult_by_miss.rang_out=1.0"), "always", seed=seed)
        assert not_rang_out["outbound_connects"] > every_miss["outbound_connects"]


def test_an_unheard_message_can_still_show_a_missed_call():
    """Nobody listens: with a badge effect below 1, always-message loses connects; at 1
    (the default) the unheard message changes nothing."""
    base = ("callbacks.p_listen=0.0", "calendar.days=5", "prospects.count=1500",
            "screening.answer_mult_per_silent_miss=0.7")
    neutral, *_ = run_campaign(make_scenario(*base), "always", seed=3)
    badge, *_ = run_campaign(make_scenario(*base, "screening.answer_mult_per_unheard_message=0.5"),
                             "always", seed=3)
    assert badge["outbound_connects"] < neutral["outbound_connects"]


def test_a_callback_on_hold_waits_for_a_free_rep():
    """Callers who wait two minutes for their rep reach one more often; every callback
    is still either answered (at once or after waiting) or missed."""
    base = _BUSY_CALLBACKS
    at_once, *_ = run_campaign(make_scenario(*base), "always", seed=2)
    held, *_ = run_campaign(make_scenario(*base, "callbacks.hold_s=120"), "always", seed=2)
    assert at_once["callbacks_held"] == 0 and held["callbacks_held"] > 20
    assert held["callbacks_missed"] < at_once["callbacks_missed"]
    for m in (at_once, held):
        assert m["callbacks_received"] == m["inbound_connects"] + m["callbacks_missed"]


def test_callbacks_after_the_last_day_are_counted_apart():
    late, *_ = run_campaign(make_scenario(*_BUSY_CALLBACKS, "callbacks.delay_h=40"), "always")
    soon, *_ = run_campaign(make_scenario(*_BUSY_CALLBACKS, "callbacks.delay_h=0.2"), "always")
    assert late["callbacks_after_campaign"] > 50
    assert soon["callbacks_after_campaign"] < late["callbacks_after_campaign"] / 10


def test_prospects_have_habits():
    """Each prospect's availability is the profile shifted by its own hours (drawn once,
    normal with sd habit_spread_h, rounded): closed form per prospect, and the spread."""
    import numpy as np

    from sim.model import kernel as interpreted
    from sim.model.streams import build_world

    hourly = [0.1 * h for h in range(24)]
    scenario = make_scenario("prospects.habit_spread_h=3", f"prospects.hourly_availability={hourly}",
                             "prospects.count=4000")
    _, campaign, _ = run_campaign(scenario, "never", kernel=interpreted)
    shift = build_world(scenario, 1, 0).habit_shift_h
    assert abs(float(np.std(shift)) - 3.0) < 0.2 and (shift != 0).mean() > 0.8
    k = campaign.kernel
    for p in range(20):
        for hour in (3, 10, 15):
            assert k.hour_mult(p, hour * 3600.0) == hourly[(hour - shift[p]) % 24]
    plain = run_campaign(make_scenario(f"prospects.hourly_availability={hourly}"), "never",
                         kernel=interpreted)[1].kernel
    assert all(plain.hour_mult(p, 10 * 3600.0) == hourly[10] for p in range(20))


def test_each_retry_can_move_to_another_time_of_day():
    """retry_hour_step_h = 3: a retry is due at the start of the local hour three hours
    after the last attempt's; most retries go out in that hour (the rest wait for a
    window or a free rep), far more than with the plain gap."""
    base = ("cadence.min_gap_h=20", "prospects.count=300", "calendar.days=5",
            "prospects.segments.0.p_pickup=0.02", "calendar.break_start=null",
            "calendar.break_end=null", 'calendar.shift_start="08:00"', 'calendar.shift_end="20:00"')

    def share_moved(*extra):
        _, _, log = run_campaign(make_scenario(*base, *extra), "never", record=True)
        last, moved, pairs = {}, 0, 0
        for row in sorted(log.outbound(), key=lambda r: r["time_s"]):
            hour = int(row["time_s"] % DAY_S // 3600)
            if row["prospect"] in last:
                pairs += 1
                moved += hour == (last[row["prospect"]] + 3) % 24
            last[row["prospect"]] = hour
        return moved / pairs

    assert share_moved("cadence.retry_hour_step_h=3") > 0.6
    assert share_moved() < 0.3


def test_a_week_has_weekends_and_friday_is_followed_by_monday():
    """10 working days from a Monday span 12 calendar days: nobody dials on days 5-6;
    paid hours count working days only. From a Friday, day 2 is the Monday after."""
    scenario = make_scenario("calendar.days=10", "prospects.count=3000")
    metrics, campaign, log = run_campaign(scenario, "always", record=True)
    days = {int(row["time_s"] // DAY_S) for row in log.outbound()}
    assert days == set(range(12)) - {5, 6}
    assert metrics["rep_hours"] == 2 * 10 * 7  # SMALL: 2 reps, 7 paid hours a day
    split = sum(metrics[f"{k}_hours"] for k in ("dialling", "talking", "voicemail", "wrapup", "idle"))
    assert abs(split - metrics["rep_hours"]) < 1e-6  # the time split still sums to paid hours
    friday = make_scenario('calendar.start_weekday="fri"', "calendar.days=2")
    _, _, log = run_campaign(friday, "always", record=True)
    assert {int(row["time_s"] // DAY_S) for row in log.outbound()} == {0, 3}


def test_availability_by_weekday():
    """Nobody is at the phone on Tuesdays: no live answer on the campaign's Tuesday."""
    scenario = make_scenario("prospects.weekday_availability=[1, 0, 1, 1, 1, 1, 1]",
                             "calendar.days=3", "prospects.count=2000")
    _, _, log = run_campaign(scenario, "never", record=True)
    live = {"connect", "gatekeeper"}
    by_day = {}
    for row in log.outbound():
        by_day.setdefault(int(row["time_s"] // DAY_S), []).append(row["outcome"] in live)
    assert sum(by_day[1]) == 0 and sum(by_day[0]) > 10 and sum(by_day[2]) > 10
