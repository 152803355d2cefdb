"""dialsim map: the boundary sits on an analytic crossover, refinement goes to it, and the
constraint decides who may win.

The closed form. One rep, every prospect dialled at most twice, no bad numbers, every
unanswered call reaches voicemail, every live answer is the prospect, recorded drops
(a message costs the rep nothing), no callbacks and no opt-outs. The strategies differ
only in what the first voicemail does to the second dial's pick-up probability p:

- never: a silent miss, p -> p * s   (s = screening.answer_mult_per_silent_miss)
- always: the message is heard with probability L (callbacks.p_listen): p -> p * v
  (v = screening.answer_mult_per_voicemail), else unheard: p unchanged.

A dial's outcome probabilities are linear in p (while p <= 1), and after the second
dial the prospect leaves the list, so the two strategies give the same process in
distribution exactly when E[p'] is equal: s = L v + (1 - L). "always" wins above
the line v = (s - 1 + L) / L, "never" below it.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import app
from sim.analysis.objective import Objective, max_abandon
from sim.errors import UserError
from sim.experiment.decision_map import TIE, plan_map, run_map
from sim.experiment.executors import SerialExecutor

from .conftest import SCENARIOS

runner = CliRunner()
BASELINE = SCENARIOS / "baseline.toml"
LISTEN = 0.5
CLOSED = [
    "team.reps=2", "calendar.days=2", "prospects.count=600", "cadence.max_attempts=2",
    "cadence.min_gap_h=2", "cadence.max_attempts_per_day=2",  # the list runs out: both dials made
    "prospects.segments.0.p_bad_number=0", "prospects.segments.0.p_voicemail_box=1",
    "prospects.segments.0.p_right_party=1", "prospects.segments.0.p_pickup=0.5",
    "prospects.segments.0.reachability=0.7", "prospects.segments.0.reachability_concentration=null",
    'voicemail.drop_mode="recorded"', f"callbacks.p_listen={LISTEN}",
    "callbacks.p_callback=0", "callbacks.p_callback_missed_call=0",
    "opt_out.p_per_connect=0", "opt_out.p_per_heard_voicemail=0",
    "screening.answer_mult_per_silent_miss=0.8", "screening.answer_mult_per_voicemail=1.0",
]
X = "screening.answer_mult_per_silent_miss=0.6:1.0"
Y = "screening.answer_mult_per_voicemail=0.1:1.3"


def crossover(s: float) -> float:
    """v at which never and always tie, for a silent-miss multiplier s."""
    return (s - 1 + LISTEN) / LISTEN


def _plan(**kw):
    return plan_map(BASELINE, X, Y, grid=kw.pop("grid", 4), depth=kw.pop("depth", 2),
                    overrides=CLOSED + kw.pop("extra", []), strategies=["never", "always"],
                    replications=kw.pop("replications", 6), seed=5, **kw)


@pytest.mark.slow
def test_boundary_matches_the_analytic_crossover(tmp_path):
    plan = _plan()
    result = run_map(plan, tmp_path / "m", SerialExecutor())
    assert result.status == "complete"
    points = list(result.points.values())
    h = 1 / plan.steps  # the finest lattice step, in units of the plane
    span = plan.y.high - plan.y.low

    def offset(p):  # signed distance above the line, in plane units (v per its range)
        s = p.values[plan.x.key]
        return (p.values[plan.y.key] - crossover(s)) / span

    wrong = [(p.values, p.label) for p in points if p.label == "always" and offset(p) < 0
             or p.label == "never" and offset(p) > 0]
    assert not wrong, wrong
    # the boundary: in each column of the lattice, midway between the highest "never" and
    # the lowest "always" (ties between them), against the analytic crossover
    step_v = span / plan.steps
    errors = []
    for i in sorted({p.i for p in points}):
        column = [p for p in points if p.i == i]
        never = [p.values[plan.y.key] for p in column if p.label == "never"]
        always = [p.values[plan.y.key] for p in column if p.label == "always"]
        if never and always:
            estimate = (max(never) + min(always)) / 2
            errors.append(estimate - crossover(column[0].values[plan.x.key]))
    assert len(errors) >= plan.steps // 2, errors
    assert max(abs(e) for e in errors) <= 1.5 * step_v, errors
    assert abs(np.mean(errors)) <= 0.5 * step_v, errors  # no bias to either side
    # ties only in a narrow band along the line; far from it the answer is clear
    assert all(abs(offset(p)) <= 3 * h for p in points if p.label == TIE)
    # refinement went to the boundary: every refined point lies in a coarse cell the line crosses
    coarse = 1 / (plan.grid - 1)
    refined = [p for p in points if p.round > 0]
    assert refined
    assert all(abs(offset(p)) <= 2 * coarse for p in refined), \
        max(abs(offset(p)) for p in refined)
    # and it saved work: fewer points than the full finest grid
    assert len(points) < 0.6 * (plan.steps + 1) ** 2
    # both sides are present and each clear label is consistent with the side
    labels = {p.label for p in points}
    assert {"never", "always"} <= labels


def test_constraint_excludes_a_strategy_that_breaks_it(tmp_path):
    """A 3-line parallel dialer abandons calls; with a cap no strategy can win."""
    plan = _plan(grid=2, depth=0, extra=["team.lines_per_rep=3", 'dialer.mode="parallel"'],
                 objective=Objective("connects_per_rep_hour", tuple(max_abandon(0.001))))
    result = run_map(plan, tmp_path / "m", SerialExecutor())
    rows = pq.read_table(tmp_path / "m" / "map.parquet").to_pylist()
    assert rows and all(not r["compliant"] for r in rows)
    assert {r["label"] for r in rows} == {"none"}
    # without the cap the same points have winners
    free = run_map(_plan(grid=2, depth=0, extra=["team.lines_per_rep=3", 'dialer.mode="parallel"']),
                   tmp_path / "free", SerialExecutor())
    assert all(p.label != "none" for p in free.points.values())


def test_resume_and_refusals(tmp_path):
    plan = _plan(grid=2, depth=1)
    first = run_map(plan, tmp_path / "m", SerialExecutor())
    again = run_map(_plan(grid=2, depth=1), tmp_path / "m", SerialExecutor())
    assert {k: p.label for k, p in first.points.items()} == \
        {k: p.label for k, p in again.points.items()}
    with pytest.raises(UserError, match="another depth"):
        run_map(_plan(grid=2, depth=2), tmp_path / "m", SerialExecutor())


def test_cli_map_chart_and_marks(tmp_path):
    out = tmp_path / "m"
    args = ["map", str(BASELINE), "--x", X, "--y", Y, "--grid", "3", "--depth", "1", "-n", "2",
            "-s", "never", "-s", "always", "--workers", "1", "--out", str(out),
            "--mark", str(SCENARIOS / "drop_advocate.toml")]
    for item in CLOSED:
        args += ["--set", item]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "at your scenario's beliefs" in result.output
    charts = list((out / "plots").glob("map_*.png"))
    assert len(charts) == 1 and charts[0].stat().st_size > 10_000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "map" and manifest["status"] == "complete"
    assert manifest["own_point"] == [0.8, 1.0]
    assert manifest["marks"]["drop_advocate"][0] == pytest.approx(0.6)


@pytest.mark.parametrize("args, message", [
    (["--x", X, "--y", X], "the same key as --x"),
    (["--x", X, "--y", "screening.answer_mult_per_voicemail=1:0"], "--y"),
    (["--x", X, "--y", Y, "--grid", "1"], "--grid 1"),
    (["--x", X, "--y", Y, "-s", "never"], "at least 2 strategies"),
    (["--x", X, "--y", Y, "--max-abandon", "3"], "--max-abandon 3"),
    (["--x", X, "--y", Y, "--mark", "nope.toml"], "nope.toml"),
    (["--x", "callbacks.p_listen=0:2", "--y", Y], "not a valid scenario"),
])
def test_bad_input_is_one_line_and_nothing_written(tmp_path, args, message):
    out = tmp_path / "m"
    result = runner.invoke(app, ["map", str(BASELINE), *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
    assert not out.exists()


def test_docs_list_every_map_column():
    doc = (SCENARIOS.parent / "docs" / "decision_maps.md").read_text()
    plan = _plan(grid=2, depth=0)
    from sim.experiment.decision_map import map_schema

    for name in map_schema(plan).names:
        if name in (plan.x.key, plan.y.key):
            continue
        shown = name.replace("connects_per_rep_hour", "<objective>")
        assert f"`{shown}`" in doc or f"`{shown}`," in doc, name


def _rows(values: dict[str, list[float]], abandon: dict[str, list[float]] | None = None):
    import pyarrow as pa

    rows = []
    for name, xs in values.items():
        for i, x in enumerate(xs):
            rows.append({"strategy": name, "replication": i, "connects_per_rep_hour": x,
                         "abandon_rate_with_amd": (abandon or {}).get(name, [0.0] * len(xs))[i]})
    return pa.Table.from_pylist(rows)


def test_a_map_point_is_labelled_by_the_verdict_of_dialsim_run():
    """One definition of the winner: with four strategies the verdict widens each paired
    interval (Bonferroni over three one-sided claims: 96.7%), so a best whose 95% margin
    over the runner-up excludes 0 but whose 96.7% margin does not is a tie on the map, as
    in a run."""
    from sim.analysis.compare import decide
    from sim.analysis.stats import paired_difference, t_quantile
    from sim.experiment.decision_map import judge

    rng = np.random.default_rng(7)
    n = 10
    noise = rng.normal(size=n)
    noise = (noise - noise.mean()) / noise.std(ddof=1)
    # differences best - runner-up with t = 2.4: between t(95%, 9) = 2.26 and t(96.7%, 9) = 2.51
    assert t_quantile(0.95, n - 1) < 2.4 < t_quantile(1 - 0.1 / 3, n - 1)
    diff = 1.0 + noise * math.sqrt(n) / 2.4
    base = 10 + rng.normal(size=n)
    rows = _rows({"never": list(base - diff), "always": list(base), "rotate": list(base - 5),
                  "first_only": list(base - 6)})
    strategies = ("never", "always", "rotate", "first_only")
    assert paired_difference(base, base - diff).excludes_zero()  # the old top-two test: a winner
    point = judge(rows, strategies, Objective())
    verdict = decide(rows, strategies)
    assert not verdict.separated and verdict.best == "always"
    assert point["label"] == TIE and point["winner"] == "always" and point["runner_up"] == "never"
    # two strategies: the same data separate them (95% = the verdict's level)
    two = judge(_rows({"never": list(base - diff), "always": list(base)}), ("never", "always"),
                Objective())
    assert two["label"] == "always"


def test_a_map_cap_is_judged_as_a_constraints_cap():
    """--max-abandon on a map is the [constraints] check: the high end of the 95% interval."""
    from sim.analysis.constraints import Check
    from sim.analysis.stats import t_interval
    from sim.experiment.decision_map import judge

    abandon = {"fast": [0.025, 0.029, 0.031, 0.027], "slow": [0.0] * 4}
    rows = _rows({"fast": [12.0, 12.1, 11.9, 12.2], "slow": [10.0, 10.1, 9.9, 10.0]}, abandon)
    high = t_interval(abandon["fast"]).high
    assert 0.029 < high  # the mean (2.8%) is under a 2.9% cap, the high end is not
    point = judge(rows, ("fast", "slow"), Objective(constraints=tuple(max_abandon(0.029))))
    assert point["label"] == "slow" and point["compliant"] == {"fast": False, "slow": True}
    check = max_abandon(0.029)[0].check(abandon["fast"])
    assert isinstance(check, Check) and not check.complies
    roomy = judge(rows, ("fast", "slow"), Objective(constraints=tuple(max_abandon(high + 1e-9))))
    assert roomy["label"] == "fast"
    # the base scenario's own [constraints] count on a map too, as in a run or a sweep
    capped = judge(rows, ("fast", "slow"), Objective(), {"constraints": {"max_abandon_rate": 0.029, "abandon_window": "campaign"}})
    assert capped["label"] == "slow"
