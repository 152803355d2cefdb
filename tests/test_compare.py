"""Comparisons: common random numbers, paired intervals, their coverage, --precision.

The statistical checks use fixed seeds and tolerances derived from the sampling
distribution they test (binomial bands for coverage), so each can fail for a real
reason and never by luck of the draw.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as st
from typer.testing import CliRunner

from cli import app
from sim.analysis.compare import (
    COMPARISON_SCHEMA,
    comparison_rows,
    comparison_table,
    resolve_baseline,
    values_by_strategy,
    verdict,
)
from sim.errors import UserError
from sim.experiment.replications import ReplicationTask, run_experiment, run_replication
from sim.experiment.precision import MIN_STEP, next_total
from sim.scenario.schema import load_scenario
from sim.model.streams import ATTEMPT_PURPOSES, build_world

from .conftest import ROOT, SCENARIOS, make_scenario

BASELINE = SCENARIOS / "baseline.toml"
FLAT_DAY = "prospects.hourly_availability=[" + ", ".join(["1.0"] * 24) + "]"
runner = CliRunner()


# ----------------------------------------------------------------- same world


def _first_dials(path) -> dict[int, tuple]:
    """Per prospect: what its first outbound dial met (outcome class, ring, talk)."""
    table = pq.read_table(path).to_pylist()
    first = {}
    for row in table:
        if row["direction"] == "outbound" and row["attempt"] == 1 and row["outcome"] != "cancelled":
            # the strategy decides only what happens AT a voicemail, not whether one answers
            outcome = "voicemail" if row["outcome"].startswith("voicemail") else row["outcome"]
            first[row["prospect"]] = (outcome, round(row["ring_s"], 4), round(row["talk_s"], 4))
    return first


def _agreement(a: dict, b: dict) -> tuple[int, int]:
    common = a.keys() & b.keys()
    return sum(a[p] == b[p] for p in common), len(common)


def test_same_world_first_dial_identical_under_two_strategies(tmp_path):
    """Before histories diverge (the first dial), every prospect meets the same draws.

    Availability is flat over the day, so a first dial's outcome depends only on the
    pre-drawn row, not on when it is placed. Control: the same comparison across two
    replications (different worlds) disagrees for many prospects, so the check can fail.
    """
    sc = load_scenario(BASELINE, ["prospects.count=400", "calendar.days=2", "team.reps=2", FLAT_DAY])
    logs = {}
    for replication in (0, 1):
        folder = tmp_path / f"r{replication}"
        folder.mkdir()
        result = run_replication(ReplicationTask(sc.resolved(), 5, replication,
                                                 ("never", "rotate"), str(folder)))
        logs[replication] = [_first_dials(part) for part in result.calls_parts]
    never, rotate = logs[0]
    same, common = _agreement(never, rotate)
    assert common > 300  # most prospects get a first dial under both
    outcomes = {v[0] for v in never.values()}
    assert {"connect", "voicemail", "no_answer", "bad_number"} <= outcomes
    assert same == common, f"{common - same} prospects met different first-dial draws"
    other_world, compared = _agreement(never, logs[1][0])
    assert other_world < 0.9 * compared  # a different world is visibly different


def test_world_does_not_shift_when_scenario_grows():
    """Adding a strategy, reps, prospects or attempts moves no one's existing draws."""
    base = make_scenario()
    world = build_world(base, 3, 2)
    grown = make_scenario("team.reps=5", "prospects.count=600", "cadence.max_attempts=9",
                          'strategies=["never", "always", "first_n", {name = "x", sequence = ["A", "-"]}]')
    bigger = build_world(grown, 3, 2)
    n, attempts = world.draws.upto().shape[:2]
    np.testing.assert_array_equal(bigger.draws.upto(n)[:, :attempts], world.draws.upto())
    for attr in ("segment", "bad_number", "reachability", "callback_propensity"):
        np.testing.assert_array_equal(getattr(bigger, attr)[:n], getattr(world, attr))
    other = build_world(base, 3, 3)  # next replication: independent, not a copy
    assert not np.array_equal(other.draws.upto(), world.draws.upto())
    assert world.draws.upto().shape[2] == len(ATTEMPT_PURPOSES)


def test_every_strategy_of_a_replication_runs_on_one_world(monkeypatch):
    """run_replication hands the very same World to every strategy (CRN wiring)."""
    import sim.experiment.replications as experiment

    seen = []
    real = experiment.Campaign

    class Spy(real):
        def __init__(self, scenario, world, *args, **kwargs):
            seen.append(world)
            super().__init__(scenario, world, *args, **kwargs)

    monkeypatch.setattr(experiment, "Campaign", Spy)
    sc = make_scenario()
    run_replication(ReplicationTask(sc.resolved(), 1, 0, tuple(sc.strategy_names())))
    assert len(seen) == 3 and all(w is seen[0] for w in seen)


# ----------------------------------------------------------- paired vs unpaired


def _half_widths(summary, strategies, a, b):
    table = comparison_table(summary, strategies, b, metrics=["connects_per_rep_hour"])
    row = comparison_rows(table, "connects_per_rep_hour")[a]
    return row["diff_half_width"], row["diff_unpaired_half_width"]


def test_paired_interval_much_narrower_than_unpaired_on_baseline():
    """rotate - never on scenarios/baseline.toml (shortened): pairing narrows the interval.

    Common random numbers make the two strategies' replications strongly correlated
    (a one-sided Pearson test must reject independence at 0.001), and the paired
    interval is then over twice as narrow as the Welch interval that ignores the
    pairing (seeds 1-3 give 2.7-3.1 here; docs/comparisons.md reports the full
    scenario). Control: pairing each rotate replication with a *different*
    replication's never (independent worlds) gives a factor near 1.
    """
    sc = load_scenario(BASELINE, ["prospects.count=1500", "calendar.days=3"])
    result = run_experiment(sc, seed=sc.experiment.seed, replications=16,
                            strategies=("never", "rotate"))
    summary = result.summary_table()
    values = values_by_strategy(summary, "connects_per_rep_hour", ("never", "rotate"))
    assert st.pearsonr(values["never"], values["rotate"], alternative="greater").pvalue < 1e-3
    paired, unpaired = _half_widths(summary, ("never", "rotate"), "rotate", "never")
    assert unpaired / paired > 2.0, (paired, unpaired)

    shifted = np.roll(values["never"], 1)  # never from another replication: no pairing
    mismatched = pa.table({
        "strategy": ["never"] * 16 + ["rotate"] * 16,
        "replication": list(range(16)) * 2,
        "connects_per_rep_hour": np.concatenate([shifted, values["rotate"]]),
    })
    paired_mm, unpaired_mm = _half_widths(mismatched, ("never", "rotate"), "rotate", "never")
    assert unpaired_mm / paired_mm < 1.5


def test_comparison_matches_scipy_on_a_real_run():
    """Every interval in comparison_table agrees with scipy's own computation."""
    sc = make_scenario()
    result = run_experiment(sc, seed=4, replications=5, strategies=tuple(sc.strategy_names()))
    summary = result.summary_table()
    table = comparison_table(summary, result.strategies, "always")
    assert table.schema.equals(COMPARISON_SCHEMA, check_metadata=True)
    assert table.num_rows == 3 * len([f for f in summary.schema.names
                                      if f not in ("strategy", "replication", "seed")])
    for metric in ("connects_per_rep_hour", "voicemails_left", "dials"):
        values = values_by_strategy(summary, metric, result.strategies)
        rows = comparison_rows(table, metric)
        for name in result.strategies:
            row = rows[name]
            x = values[name]
            if np.ptp(x) > 0:
                low, high = st.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=st.sem(x))
                assert row["ci95_low"] == pytest.approx(low) and row["ci95_high"] == pytest.approx(high)
            d = x - values["always"]
            if np.ptp(d) > 0:
                ci = st.ttest_rel(x, values["always"]).confidence_interval(0.95)
                assert row["diff_ci95_low"] == pytest.approx(ci.low)
                assert row["diff_ci95_high"] == pytest.approx(ci.high)
                assert row["diff_excludes_zero"] == (ci.low > 0 or ci.high < 0)
                welch = st.ttest_ind(x, values["always"], equal_var=False).confidence_interval(0.95)
                assert row["diff_unpaired_half_width"] == pytest.approx((welch.high - welch.low) / 2)
        assert rows["always"]["is_baseline"] and rows["always"]["diff_mean"] == 0


# ------------------------------------------------------------------ coverage


def _band(p: float, trials: int, sigmas: float = 4.0) -> tuple[float, float]:
    sd = math.sqrt(p * (1 - p) / trials)
    return p - sigmas * sd, p + sigmas * sd


def test_interval_coverage_matches_closed_form():
    """95% t intervals (mean, and paired difference) cover the known truth 95% of the time.

    Normal data make the Student-t coverage exact, so the hit rate over M independent
    seeded experiments is Binomial(M, 0.95): it must fall within 4 sd of 0.95. A z
    interval (coverage ~0.88 at n = 5) falls far outside the band, an sd with
    ddof=0 (~0.93) just outside it.
    """
    rng = np.random.default_rng(20261123)
    trials, n = 4000, 5
    true_a, true_diff = 5.0, 0.4
    # correlated pairs, as under common random numbers: corr 0.9, different spreads
    common = rng.standard_normal((trials, n))
    a = true_a + 1.0 * common
    b = true_a + true_diff + 1.3 * (0.9 * common + math.sqrt(1 - 0.81) * rng.standard_normal((trials, n)))
    columns = {"strategy": ["a"] * n + ["b"] * n, "replication": list(range(n)) * 2}
    metrics = []
    for i in range(trials):
        columns[f"m{i}"] = np.concatenate([a[i], b[i]])
        metrics.append(f"m{i}")
    table = comparison_table(pa.table(columns), ("a", "b"), "a", metrics=metrics)
    rows = table.to_pylist()
    own = [r for r in rows if r["strategy"] == "a"]
    diff = [r for r in rows if r["strategy"] == "b"]
    covered_mean = np.mean([r["ci95_low"] <= true_a <= r["ci95_high"] for r in own])
    covered_diff = np.mean([r["diff_ci95_low"] <= true_diff <= r["diff_ci95_high"] for r in diff])
    low, high = _band(0.95, trials)
    assert low <= covered_mean <= high, covered_mean
    assert low <= covered_diff <= high, covered_diff


# ------------------------------------------------------------------- verdict


def test_verdict_names_a_clear_winner_and_refuses_a_tie():
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(12)
    clear = verdict({"a": 5 + noise, "b": 5.5 + noise + 0.01 * rng.standard_normal(12)})
    assert clear.best == "b" and clear.separated
    assert "best: b" in clear.sentence()
    tie = verdict({"a": 5 + noise, "b": 5 + noise + rng.standard_normal(12),
                   "c": 3 + noise})
    assert not tie.separated and set(tie.leaders) == {"a", "b"}
    assert "cannot separate" in tie.sentence() and "c clearly behind" in tie.sentence()
    assert tie.pairwise_confidence == 0.95  # one-sided Bonferroni over 2 = two-sided 95%
    five = verdict({name: 5 + noise + i for i, name in enumerate("abcde")})
    assert five.pairwise_confidence == pytest.approx(0.975) and five.best == "e"


def test_resolve_baseline_rules():
    assert resolve_baseline(("x", "y")) == "x"
    assert resolve_baseline(("x", "y"), scenario_baseline="y") == "y"
    assert resolve_baseline(("x", "y"), scenario_baseline="gone") == "x"  # not run: first
    assert resolve_baseline(("x", "y"), "y", "x") == "y"
    with pytest.raises(UserError, match="choose from: x, y"):
        resolve_baseline(("x", "y"), "z")


# ------------------------------------------------------------------ the CLI


SMALL_RUN = ["--set", "prospects.count=300", "--set", "calendar.days=2", "--set", "team.reps=2",
             "-s", "never", "-s", "rotate", "--workers", "1"]


def _run(*args):
    return runner.invoke(app, ["run", str(BASELINE), *SMALL_RUN, *args])


def test_run_writes_comparison_and_names_the_baseline(tmp_path):
    out = tmp_path / "r"
    result = _run("-n", "4", "--out", str(out), "--baseline", "rotate")
    assert result.exit_code == 0, result.output
    assert "vs rotate" in result.output and "verdict:" in result.output
    table = pq.read_table(out / "comparison.parquet")
    assert table.schema.equals(COMPARISON_SCHEMA)
    assert set(table.column("baseline").to_pylist()) == {"rotate"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["baseline"] == "rotate"
    assert manifest["files"]["comparison.parquet"] == table.num_rows
    # what is on disk is what the library computes from summary.parquet
    recomputed = comparison_table(pq.read_table(out / "summary.parquet"), ("never", "rotate"), "rotate")
    assert recomputed.to_pandas().equals(table.to_pandas())  # NaN == NaN here


def test_run_json_carries_differences_and_verdict(tmp_path):
    result = _run("-n", "3", "--out", str(tmp_path / "r"), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["baseline"] == "never"
    diff = data["strategies"]["rotate"]["connects_per_rep_hour"]["diff_vs_baseline"]
    assert diff["ci95_low"] <= diff["mean"] <= diff["ci95_high"]
    assert data["verdict"]


def test_unknown_baseline_lists_valid_names(tmp_path):
    result = _run("-n", "2", "--out", str(tmp_path / "r"), "--baseline", "sometimes")
    assert result.exit_code == 2
    assert "--baseline 'sometimes'" in result.output and "choose from: never, rotate" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message", [
    (["--precision", "0"], "--precision 0.0: must be a fraction"),
    (["--precision", "1.5"], "must be a fraction"),
    (["--max-replications", "9"], "only used with --precision"),
    (["-n", "10", "--precision", "0.1", "--max-replications", "5"], "below the first round"),
])
def test_bad_precision_options(tmp_path, args, message):
    result = _run(*args, "--out", str(tmp_path / "r"))
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- --precision


def test_precision_stops_when_reached_and_equals_a_plain_run(tmp_path):
    """Rounds continue replication indices: the result is the plain run with the final N."""
    target = 0.08
    result = _run("-n", "3", "--precision", str(target), "--out", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    assert "precision reached" in result.output
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    precision = manifest["precision"]
    n = manifest["replications"]
    assert precision["reached"] and precision["rounds"][-1] == n and precision["rounds"][0] == 3
    summary = pq.read_table(tmp_path / "p" / "summary.parquet")
    assert sorted(set(summary.column("replication").to_pylist())) == list(range(n))
    for name in ("never", "rotate"):
        iv = comparison_rows(comparison_table(summary, ("never", "rotate"), "never"),
                             "connects_per_rep_hour")[name]
        assert iv["relative_half_width"] <= target
    # the round before the last had not reached it (else it would have stopped there)
    before = precision["rounds"][-2]
    head = summary.filter(pa.compute.less(summary.column("replication"), before))
    widths = [comparison_rows(comparison_table(head, ("never", "rotate"), "never"),
                              "connects_per_rep_hour")[s]["relative_half_width"] for s in ("never", "rotate")]
    assert max(widths) > target

    plain = _run("-n", str(n), "--out", str(tmp_path / "plain"), "-q")
    assert plain.exit_code == 0
    assert pq.read_table(tmp_path / "plain" / "summary.parquet").equals(summary)


def test_precision_cap_hit_first_says_so(tmp_path):
    result = _run("-n", "2", "--precision", "0.001", "--max-replications", "5", "-q",
                  "--out", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    assert "precision NOT reached" in result.output and "cap of 5 replications" in result.output
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["precision"]["reached"] is False and manifest["replications"] == 5


@pytest.mark.parametrize("done, worst, target, cap", [
    (2, 0.5, 0.01, 200), (10, 0.011, 0.01, 200), (50, math.inf, 0.05, 60), (7, math.nan, 0.1, 100),
    (4, 0.3, 0.2, 5),
])
def test_next_round_grows_within_bounds(done, worst, target, cap):
    total = next_total(done, worst, target, cap)
    assert total <= cap
    assert total == cap or done + MIN_STEP <= total <= max(2 * done, done + MIN_STEP)
    if math.isfinite(worst) and total < cap:
        assert total >= min(2 * done, math.ceil(done * (worst / target) ** 2))


def test_comparison_schema_is_documented():
    """docs/results.md documents every comparison.parquet column in its own section."""
    doc = (ROOT / "docs" / "results.md").read_text()
    assert "## `comparison.parquet`" in doc
    section = doc.split("## `comparison.parquet`", 1)[1].split("\n## ", 1)[0]
    for name in COMPARISON_SCHEMA.names:
        assert f"`{name}`" in section, f"comparison column {name} is not documented"
