"""Other channels (docs/model.md, "Other channels"): email and text touches placed by
the cadence, and second phone numbers; each mechanism on its own."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from sim.model.streams import ATTEMPT_PURPOSES, COL, build_world

from .conftest import make_scenario, run_campaign

SILENT_OUTCOMES = {"no_answer", "voicemail_silent", "abandoned", "amd_hangup", "cancelled"}


def _band(n, p, z=3.29):
    """A 99.9% normal-approximation binomial interval for the count of n trials."""
    sd = math.sqrt(n * p * (1 - p))
    return n * p - z * sd, n * p + z * sd


def test_defaults_change_nothing():
    """Channels off, or switched on with nothing to trigger them: identical results."""
    plain = make_scenario("calendar.days=3")
    idle = make_scenario("calendar.days=3", "channels.email.p_reply=0.5",
                         "channels.text.pickup_mult=0.2", "channels.second_number.share=0",
                         "channels.second_number.pickup_mult=0.3")
    for strategy in ("never", "always"):
        a, _, log_a = run_campaign(plain, strategy, record=True)
        b, _, log_b = run_campaign(idle, strategy, record=True)
        assert a == b
        assert log_a.rows == log_b.rows
        assert a["emails_sent"] == a["second_number_dials"] == 0


def test_channel_draws_leave_the_other_columns_alone():
    """The touches' draws are a table of their own: the per-attempt table, its
    columns and values, are the same with touches on."""
    plain = build_world(make_scenario(), 3, 1)
    touched = build_world(make_scenario("channels.email.after_silent_miss=true",
                                        "channels.second_number.share=0.5"), 3, 1)
    assert plain.channel_draws is None and touched.channel_draws is not None
    assert not any(name.startswith(("email", "text")) for name in ATTEMPT_PURPOSES)
    assert len(COL) == len(ATTEMPT_PURPOSES)
    assert np.array_equal(plain.draws.upto(300), touched.draws.upto(300))
    assert np.array_equal(plain.voicemail_line, touched.voicemail_line)
    assert np.array_equal(plain.p_pickup, touched.p_pickup)


@pytest.mark.parametrize("channel", ["email", "text"])
def test_reply_rate_is_p_reply_of_the_touches_sent(channel):
    """Replies ~ Binomial(touches sent, p_reply); touches go to the share with an
    address only."""
    p_reply, share = 0.3, 0.6
    scenario = make_scenario(
        "calendar.days=4", "prospects.count=800", f"channels.{channel}.after_silent_miss=true",
        f"channels.{channel}.p_reply={p_reply}", f"channels.{channel}.share_reachable={share}",
        "callbacks.p_callback_missed_call=0")
    m, campaign, log = run_campaign(scenario, "never", record=True)
    sent, replies = m[f"{channel}s_sent"], m[f"{channel}_replies"]
    assert sent > 300
    low, high = _band(sent, p_reply)
    assert low <= replies <= high, (replies, sent)
    # prospects with at least one silent miss: those with an address got touches
    missed = {r["prospect"] for r in log.outbound() if r["outcome"] in SILENT_OUTCOMES}
    bit = 1 if channel == "email" else 2
    addressed = sum(1 for p in missed if campaign.world.channel_address[p] & bit)
    low, high = _band(len(missed), share)
    assert low <= addressed <= high
    # replies reach reps as callbacks do: answered ones are inbound connects
    assert m[f"{channel}_reply_connects"] > 0
    assert m[f"{channel}_reply_connects"] <= replies
    assert m["inbound_connects"] == m[f"{channel}_reply_connects"] + m["callback_connects"]


def test_touch_pickup_multiplier_below_one_lowers_later_connects():
    for seed in (1, 2):
        m = {}
        for mult in (1.0, 0.3):
            scenario = make_scenario("calendar.days=5", "channels.email.after_attempts=[1]",
                                     f"channels.email.pickup_mult={mult}", "channels.email.delay_h=0.5")
            m[mult], *_ = run_campaign(scenario, "never", seed=seed)
        assert m[0.3]["emails_sent"] == m[1.0]["emails_sent"] > 100
        assert m[0.3]["outbound_connects"] < m[1.0]["outbound_connects"]


def test_touch_pickup_multiplier_is_applied_per_touch_sent():
    """Closed form (permanent company screening, no other effect): pick-up = base x
    mult ^ (emails the prospect received)."""
    mult = 0.8
    scenario = make_scenario("calendar.days=4", "screening.answer_mult_per_silent_miss=1",
                             "channels.email.after_silent_miss=true", "channels.email.delay_h=0",
                             f"channels.email.pickup_mult={mult}")
    m, campaign, log = run_campaign(scenario, "never", record=True)
    received = defaultdict(int)
    for r in log.outbound():  # delay 0: sent at once, before any later event
        if r["outcome"] in SILENT_OUTCOMES:
            received[r["prospect"]] += 1
    assert sum(received.values()) == m["emails_sent"] > 100
    for p in range(scenario.prospects.count):
        expected = campaign.world.p_pickup[p] * mult ** received[p]
        assert campaign.pickup[p] == pytest.approx(expected, rel=1e-12)


def test_touch_opt_out_risk_takes_prospects_off_the_list():
    base = make_scenario("calendar.days=4", "channels.text.after_silent_miss=true",
                         "opt_out.p_per_connect=0")
    risky = make_scenario("calendar.days=4", "channels.text.after_silent_miss=true",
                          "channels.text.p_opt_out=0.2", "opt_out.growth_per_touch=1",
                          "opt_out.p_per_connect=0")
    m0, *_ = run_campaign(base, "never")
    m1, *_ = run_campaign(risky, "never")
    assert m0["opt_outs"] == 0
    low, high = _band(m1["texts_sent"], 0.2)
    assert low <= m1["opt_outs"] <= high
    assert m1["dials"] < m0["dials"]


def test_touches_cost_rep_seconds_only_when_asked():
    """Wrap-up = 45 s per conversation + rep_s per touch the rep wrote (every silent
    miss but a cancelled dial, whose line the dialer hung up)."""
    rep_s = 40.0
    scenario = make_scenario("calendar.days=3", "channels.email.after_silent_miss=true",
                             f"channels.email.rep_s={rep_s}", "calendar.break_start=null",
                             "calendar.break_end=null")
    m_cost, _, log = run_campaign(scenario, "never", record=True)
    written = sum(1 for r in log.outbound()
                  if r["outcome"] in SILENT_OUTCOMES and r["outcome"] != "cancelled")
    expected_s = 45.0 * m_cost["connects"] + rep_s * written
    assert m_cost["wrapup_hours"] * 3600 + m_cost["overtime_hours"] * 3600 >= expected_s * 0.99
    assert m_cost["wrapup_hours"] * 3600 <= expected_s * 1.0001
    free = make_scenario("calendar.days=3", "channels.email.after_silent_miss=true",
                         "calendar.break_start=null", "calendar.break_end=null")
    m_free, *_ = run_campaign(free, "never")
    assert m_cost["wrapup_hours"] > m_free["wrapup_hours"]
    assert m_cost["idle_hours"] < m_free["idle_hours"]  # (the list runs out: rep time, not dials)


def test_reply_multiplier_after_a_heard_message():
    """reply_mult_after_heard_message: replies to prospects who heard a message rise."""
    rates = {}
    for mult in (1.0, 3.0):
        scenario = make_scenario("calendar.days=4", "prospects.count=800", "callbacks.p_listen=1",
                                 "channels.email.after_message=true", "channels.email.p_reply=0.1",
                                 f"channels.email.reply_mult_after_heard_message={mult}",
                                 "opt_out.p_per_heard_voicemail=0")
        m, *_ = run_campaign(scenario, "always")
        rates[mult] = m["email_replies"] / m["emails_sent"]
    assert rates[1.0] == pytest.approx(0.1, abs=0.04)
    assert rates[3.0] == pytest.approx(0.3, abs=0.06)


def _expected_numbers(rows, has_second, switch_after):
    """Replay the rule: after `switch_after` non-connect dials in a row on one number,
    dial the other; a dead first number moves the prospect to its second for good."""
    line, misses, want = defaultdict(int), defaultdict(int), {}
    for i, r in enumerate(rows):
        p = r["prospect"]
        want[i] = line[p] + 1
        if r["outcome"] == "connect":
            if misses[p] > 0:
                misses[p] = 0
        elif has_second[p] and misses[p] >= 0:
            if r["outcome"] == "bad_number" and line[p] == 0:
                line[p], misses[p] = 1, -1
            else:
                misses[p] += 1
                if misses[p] >= switch_after:
                    line[p], misses[p] = 1 - line[p], 0
    return want


@pytest.mark.parametrize("switch_after", [1, 2, 3])
def test_the_other_number_is_dialled_exactly_when_the_rule_says(switch_after):
    scenario = make_scenario("calendar.days=5", "cadence.max_attempts=8", "cadence.min_gap_h=4",
                             "cadence.max_attempts_per_day=2", "channels.second_number.share=0.5",
                             f"channels.second_number.switch_after_misses={switch_after}",
                             "prospects.segments.0.p_bad_number=0.2")
    m, campaign, log = run_campaign(scenario, "always", record=True)
    rows = sorted(log.outbound(), key=lambda r: (r["time_s"], r["prospect"]))
    want = _expected_numbers(rows, campaign.world.second_number, switch_after)
    got = [r["phone_number"] for r in rows]
    assert got == [want[i] for i in range(len(rows))]
    assert sum(1 for n in got if n == 2) == m["second_number_dials"] > 50
    for r in rows:
        if not campaign.world.second_number[r["prospect"]]:
            assert r["phone_number"] == 1
    # a dead first number no longer retires a prospect with a second one
    bad_with_second = [r for r in rows if r["outcome"] == "bad_number"
                       and campaign.world.second_number[r["prospect"]]]
    assert bad_with_second
    assert any(r["phone_number"] == 2 for r in rows
               if r["prospect"] in {b["prospect"] for b in bad_with_second})


def test_second_number_pickup_multiplier_and_own_screening():
    """A second number answered more often gives more connects on it; misses on it
    leave the first number's screening history alone."""
    base = ("calendar.days=5", "cadence.max_attempts=8", "channels.second_number.share=1",
            "channels.second_number.switch_after_misses=1", "prospects.segments.0.p_bad_number=0")
    low, *_ = run_campaign(make_scenario(*base, "channels.second_number.pickup_mult=0.2"), "never")
    high, *_ = run_campaign(make_scenario(*base, "channels.second_number.pickup_mult=3"), "never")
    assert high["second_number_connects"] > 2 * low["second_number_connects"]
    mult = 0.7
    scenario = make_scenario(*base, f"screening.answer_mult_per_silent_miss={mult}")
    _, campaign, log = run_campaign(scenario, "never", record=True)
    misses = defaultdict(int)
    for r in log.outbound():
        if r["outcome"] in SILENT_OUTCOMES and r["phone_number"] == 1:
            misses[r["prospect"]] += 1
    for p in range(scenario.prospects.count):  # the first number: its own misses only
        assert campaign.pickup[p] == pytest.approx(campaign.world.p_pickup[p] * mult ** misses[p],
                                                   rel=1e-12)


def test_second_number_has_its_own_voicemail_box():
    scenario = make_scenario("calendar.days=5", "cadence.max_attempts=8",
                             "channels.second_number.share=1",
                             "channels.second_number.switch_after_misses=1",
                             "channels.second_number.p_voicemail_box=0",
                             "prospects.segments.0.p_voicemail_box=1",
                             "prospects.segments.0.p_bad_number=0")
    _, _, log = run_campaign(scenario, "always", record=True)
    by_number = defaultdict(set)
    for r in log.outbound():
        by_number[r["phone_number"]].add(r["outcome"])
    assert "voicemail_left" in by_number[1] and "no_answer" not in by_number[1]
    assert "no_answer" in by_number[2]
    assert not by_number[2] & {"voicemail_left", "voicemail_silent"}


def test_the_call_email_text_scenario_keeps_reps_busy():
    """scenarios/call_email_text.toml sizes its list so reps are idle under 5% of paid
    time, and every channel it describes is used."""
    from sim.scenario.schema import load_scenario

    from .conftest import SCENARIOS

    scenario = load_scenario(SCENARIOS / "call_email_text.toml")
    for replication in (0, 1):
        for strategy in ("never", "always"):
            m, *_ = run_campaign(scenario, strategy, replication=replication)
            assert m["idle_hours"] < 0.05 * m["rep_hours"], (strategy, m["idle_hours"])
            assert m["emails_sent"] and m["texts_sent"] and m["second_number_dials"]
            assert m["email_reply_connects"] + m["text_reply_connects"] > 0


def test_a_reply_on_hold_keeps_its_channel():
    """A reply that waits on hold for a free rep (callbacks.hold_s) is still counted
    as a reply conversation, not a callback: with no message and no 'who called me?'
    callbacks, every inbound connect is a reply."""
    scenario = make_scenario("calendar.days=4", "channels.email.after_silent_miss=true",
                             "channels.email.p_reply=0.3", "channels.text.after_attempts=[2]",
                             "channels.text.p_reply=0.3", "callbacks.p_callback_missed_call=0",
                             "callbacks.hold_s=900")
    m, *_ = run_campaign(scenario, "never")
    assert m["callbacks_held"] > 0
    assert m["callback_connects"] == 0
    assert m["email_reply_connects"] > 0 and m["text_reply_connects"] > 0
