"""Issue 5: predictive pacing, caller-ID numbers and spam labels, calling hours."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from scipy import stats

from sim.experiment.executors import SerialExecutor
from sim.experiment.replications import run_experiment
from sim.model.codes import DAY_S
from sim.scenario.schema import load_scenario

from .conftest import SCENARIOS, make_scenario, run_campaign

# A team big enough for statistical pacing, with a strong time-of-day swing in who is
# at their desk (the situation predictive dialers are built for).
SWING = "[0,0,0,0,0,0,0,0,1,1.7,1.5,0.4,0.3,0.3,0.5,1.5,1.7,1,0,0,0,0,0,0]"
PACING = (
    f"prospects.hourly_availability={SWING}", "team.reps=20", "team.lines_per_rep=6",
    "calendar.days=3", "prospects.count=40000", 'strategies=["never"]',
    "dialer.amd.enabled=false",
)
REPLICATIONS = 6


def _pacing_run(*extra):
    scenario = make_scenario(*PACING, *extra)
    return run_experiment(scenario, seed=3, replications=REPLICATIONS, strategies=("never",),
                          executor=SerialExecutor())


@pytest.fixture(scope="module")
def pacing_runs():
    return {
        "predictive": _pacing_run('dialer.mode="predictive"'),
        1.6: _pacing_run('dialer.mode="parallel"', "dialer.dial_level=1.6"),
        1.8: _pacing_run('dialer.mode="parallel"', "dialer.dial_level=1.8"),
    }


def _mean(result, metric):
    return float(np.mean(result.values("never", metric)))


def test_predictive_pacing_holds_the_abandon_target(pacing_runs):
    """A cap is held at or under its target, with confidence: every campaign, and the
    upper 95% bound of the mean; the controller holds its aim (10% under the cap)."""
    rates = np.array(pacing_runs["predictive"].values("never", "abandon_rate"))
    se = rates.std(ddof=1) / math.sqrt(rates.size)
    assert rates.max() <= 0.03
    assert rates.mean() + stats.t.ppf(0.95, rates.size - 1) * se <= 0.03
    aim = 0.03 * (1 - 0.1)
    # 99.9% t interval over independent replications; the controller's own bias (an
    # answer after the rep's call ended is not abandoned) stays within 3% of the aim
    half = stats.t.ppf(0.9995, rates.size - 1) * se
    assert abs(rates.mean() - aim) <= half + 0.03 * aim, (rates.mean(), half)
    assert 1.0 < _mean(pacing_runs["predictive"], "mean_dial_level") < 6.0


def test_predictive_waits_less_than_a_fixed_level_with_the_same_abandon_rate(pacing_runs):
    """Fixed levels: abandon rate rises and waiting falls with the level (checked). So
    if predictive waits less than the lowest fixed level that abandons at least as
    much, it waits less than the fixed level with exactly its abandon rate."""
    pred = pacing_runs["predictive"]
    levels = sorted(k for k in pacing_runs if k != "predictive")

    def waiting(result):
        return np.array(result.values("never", "dialling_hours")) + np.array(
            result.values("never", "idle_hours"))

    abandon = {k: _mean(pacing_runs[k], "abandon_rate") for k in levels}
    wait = {k: waiting(pacing_runs[k]).mean() for k in levels}
    assert all(abandon[a] < abandon[b] and wait[a] > wait[b] for a, b in zip(levels, levels[1:]))
    a_pred = _mean(pred, "abandon_rate")
    chosen = next(k for k in levels if abandon[k] >= a_pred)
    diff = waiting(pred) - waiting(pacing_runs[chosen])  # paired: same worlds (CRN)
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    # one-sided 99%: predictive waits less
    assert diff.mean() + stats.t.ppf(0.99, diff.size - 1) * se < 0, (chosen, diff.mean(), se)


def test_dial_level_and_abandons_are_reported_per_hour(pacing_runs):
    timeline = pacing_runs["predictive"].timeline_table().to_pylist()
    levels = [row["dial_level"] for row in timeline if row["dial_level"] is not None]
    assert min(levels) >= 1.0 and max(levels) <= 6.0 and max(levels) - min(levels) > 0.3
    summary = pacing_runs["predictive"].replications[0].rows[0]
    rep0 = [row for row in timeline if row["replication"] == 0]
    assert sum(r["abandoned_calls"] for r in rep0) == summary["abandoned_calls"]
    assert sum(r["live_answers"] for r in rep0) == summary["live_answers"]
    assert sum(r["amd_hangups"] for r in rep0) == summary["amd_hangups"]


def test_predictive_adapts_level_to_the_hour():
    """More lines when few people are at their desks, fewer when many are."""
    scenario = make_scenario(*PACING, 'dialer.mode="predictive"', "calendar.days=2")
    _, campaign, _ = run_campaign(scenario, "never", seed=5)
    level = campaign.timeline()["dial_level"]
    busy_hours = [level[24 + h] for h in (9, 16)]  # day 1, availability 1.7
    quiet_hours = [level[24 + h] for h in (13, 14)]  # availability 0.3-0.5
    assert min(quiet_hours) > max(busy_hours)


def test_power_and_parallel_validation():
    from sim.errors import UserError

    with pytest.raises(UserError, match="dialer.mode: 'power' dials one line"):
        make_scenario("team.lines_per_rep=3", 'dialer.mode="power"')
    with pytest.raises(UserError, match="more than the 2 lines"):
        make_scenario("team.lines_per_rep=2", "dialer.dial_level=2.5")
    with pytest.raises(UserError, match="needs team.lines_per_rep >= 2"):
        make_scenario('dialer.mode="predictive"')


def test_no_redial_within_embargo_after_an_abandoned_call():
    scenario = make_scenario("team.lines_per_rep=4", "calendar.days=6", "prospects.count=600",
                             "cadence.min_gap_h=2", "cadence.max_attempts_per_day=3",
                             "cadence.min_gap_after_abandon_h=72")
    _, _, log = run_campaign(scenario, "never", record=True)
    dials = defaultdict(list)
    for r in sorted(log.outbound(), key=lambda r: r["time_s"]):
        dials[r["prospect"]].append((r["time_s"] + r["ring_s"], r["outcome"], r["time_s"]))
    abandoned = 0
    for calls in dials.values():
        for (resolved, outcome, _), (_, _, next_start) in zip(calls, calls[1:]):
            if outcome == "abandoned":
                abandoned += 1
                assert next_start - resolved >= 72 * 3600 - 1e-6
    assert abandoned > 0


# ------------------------------------------------------------------ caller-ID numbers
def test_a_number_over_the_spam_hazard_is_labelled_and_pickup_falls():
    # one team number, every short call above 200/day adds hazard: labelled after day 0
    mult = 0.375
    scenario = make_scenario(
        "caller_id.enabled=true", 'caller_id.pool="team"', "caller_id.numbers_per_pool=1",
        "caller_id.hazard_per_short_call=1", "caller_id.free_short_calls_per_day=200",
        f"caller_id.labelled_pickup_mult={mult}", "caller_id.label_days=null",
        "screening.answer_mult_per_silent_miss=1", "screening.answer_mult_per_voicemail=1",
        "cadence.max_attempts=1", "calendar.days=4", "prospects.count=20000", "team.reps=4",
        "prospects.segments.0.reachability_concentration=null",
        "prospects.hourly_availability=" + str([1.0] * 24),
    )
    _, campaign, log = run_campaign(scenario, "never", record=True)
    numbers = campaign.numbers_timeline()
    assert numbers["labelled_today"][0] is True  # labelled at the end of day 0
    assert all(numbers["labelled"][1:])
    live = Counter()
    dials = Counter()
    for r in log.outbound():
        day = int(r["time_s"] // DAY_S)
        dials[day > 0] += 1
        live[day > 0] += r["outcome"] in ("connect", "gatekeeper")
    before, after = live[False] / dials[False], live[True] / dials[True]
    # fresh prospects only (one attempt each): the live-answer rate falls by the factor
    ratio = after / before
    se = ratio * math.sqrt(1 / live[False] + 1 / live[True])  # delta method on a ratio of rates
    assert abs(ratio - mult) < 3.3 * se, (ratio, se)


def test_rotation_spreads_dials_over_the_pool():
    base = ("caller_id.enabled=true", 'caller_id.pool="per_rep"', "caller_id.numbers_per_pool=3",
            "calendar.days=2", "team.reps=2")
    for rotation in ("round_robin", "least_used"):
        _, campaign, _ = run_campaign(make_scenario(*base, f'caller_id.rotation="{rotation}"'), "never")
        per_day = defaultdict(list)
        tl = campaign.numbers_timeline()
        for day, number, dials in zip(tl["day"], tl["number"], tl["dials"]):
            per_day[(day, number // 3)].append(dials)
        for counts in per_day.values():
            assert max(counts) - min(counts) <= 1, (rotation, counts)
    _, fixed, _ = run_campaign(make_scenario(*base, 'caller_id.rotation="fixed"'), "never")
    tl = fixed.numbers_timeline()
    used = {n for n, d in zip(tl["number"], tl["dials"]) if d}
    assert used == {0, 3}  # each rep shows only its first number


def test_screening_by_number_starts_fresh_on_a_new_number():
    common = ("caller_id.enabled=true", 'caller_id.pool="team"', "caller_id.numbers_per_pool=6",
              'caller_id.rotation="round_robin"', "screening.answer_mult_per_silent_miss=0.3",
              "calendar.days=6", "cadence.max_attempts=6", "prospects.count=300", "team.reps=1")
    by_company, c_company, _ = run_campaign(make_scenario(*common, 'screening.scope="company"'), "never")
    by_number, c_number, _ = run_campaign(make_scenario(*common, 'screening.scope="number"'), "never")
    # company scope: the prospect's own pick-up falls; number scope: it stays at base and
    # each (prospect, number) pair carries the misses seen on that number
    assert min(c_company.pickup) < min(c_company.world.p_pickup)
    assert c_number.pickup.tolist() == c_number.world.p_pickup.tolist()
    assert c_number.screen_by_number and max(c_number.screen_by_number.values()) <= 0.3
    assert by_number["outbound_connects"] > by_company["outbound_connects"]


def test_screening_by_number_with_one_number_is_screening_by_company():
    """A team showing a single number: the prospect's memory of that number is all it
    has, so both scopes must give exactly the same campaign."""
    common = ("caller_id.enabled=true", 'caller_id.pool="team"', "caller_id.numbers_per_pool=1",
              "screening.answer_mult_per_silent_miss=0.5", "screening.answer_mult_per_voicemail=1.3",
              "calendar.days=5", "cadence.max_attempts=5", "prospects.count=300")
    company, *_ = run_campaign(make_scenario(*common, 'screening.scope="company"'), "always")
    number, *_ = run_campaign(make_scenario(*common, 'screening.scope="number"'), "always")
    assert company == number


def test_numbers_parquet_is_written(tmp_path):
    from typer.testing import CliRunner

    import pyarrow.parquet as pq
    from cli import app

    out = tmp_path / "r"
    result = CliRunner().invoke(app, [
        "run", str(SCENARIOS / "predictive_dialer.toml"), "-n", "1", "--quiet", "--out", str(out),
        "--set", "calendar.days=2", "--set", "team.reps=6", "--set", "prospects.count=8000"])
    assert result.exit_code == 0, result.output
    numbers = pq.read_table(out / "numbers.parquet")
    assert {"day", "number", "dials", "short_calls", "labelled"} <= set(numbers.schema.names)
    assert numbers.num_rows > 0


# ------------------------------------------------------------------ calling hours
@pytest.mark.parametrize("lines", [1, 2])  # the inline power dial and the method path
def test_time_zone_mix_never_dials_outside_local_window(lines):
    scenario = make_scenario(
        f"team.lines_per_rep={lines}",
        'prospects.time_zones=[{name="east", utc_offset_h=0, weight=1}, '
        '{name="pacific", utc_offset_h=-3, weight=1}, {name="uk", utc_offset_h=5, weight=1}]',
        'prospects.calling_window_start="09:00"', 'prospects.calling_window_end="20:00"',
        "calendar.days=3", "prospects.count=900")
    _, campaign, log = run_campaign(scenario, "always", record=True)
    offsets = campaign.world.utc_offset_s
    seen = Counter()
    for r in log.outbound():
        local = (r["time_s"] + offsets[r["prospect"]]) % DAY_S
        assert 9 * 3600 <= local < 20 * 3600, r
        seen[offsets[r["prospect"]]] += 1
    assert set(seen) == {0.0, -3 * 3600.0, 5 * 3600.0}  # every zone was reachable at some hour
    shares = Counter(campaign.world.utc_offset_s.tolist())
    for count in shares.values():
        assert abs(count - 300) < 3.3 * math.sqrt(900 * (1 / 3) * (2 / 3))


def test_shipped_predictive_scenario_validates():
    scenario = load_scenario(SCENARIOS / "predictive_dialer.toml")
    assert scenario.dialer.resolved_mode(scenario.team.lines_per_rep) == "predictive"
    assert scenario.caller_id.enabled


@pytest.mark.slow
def test_holding_each_day_keeps_the_worst_day_under_the_cap():
    """dialer.predictive.hold_per_day: the worst day's abandon rate (AMD hang-ups
    counted, as a per-day cap counts it) is at or under the 3% target at the upper end
    of its 95% interval over replications; without it a campaign-wide controller lets
    some days run over (the same seed, the same prospects)."""
    from sim.analysis.constraints import with_window_columns
    from sim.analysis.stats import t_interval

    worst = {}
    for hold in (False, True):
        scenario = load_scenario(SCENARIOS / "predictive_dialer.toml",
                                 ["calendar.days=4", f"dialer.predictive.hold_per_day={str(hold).lower()}"])
        result = run_experiment(scenario, seed=5, replications=8, strategies=("never",),
                                executor=SerialExecutor())
        summary = with_window_columns(result.summary_table(), result.timeline_table())
        worst[hold] = summary.column("abandon_rate_with_amd_worst_day").to_pylist()
    assert t_interval(worst[True]).high <= 0.03, worst[True]
    assert t_interval(worst[False]).high > 0.03  # the guard is what holds it
    assert np.mean(worst[True]) < np.mean(worst[False])
