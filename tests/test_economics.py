"""Outcomes and money ([economics]): meetings, value and costs equal a hand computation."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import app
from sim.analysis.compare import decide
from sim.analysis.economics import (
    ECONOMICS_COLUMNS,
    ECONOMICS_FILE,
    economics_columns,
    objective_metric,
)
from sim.errors import UserError
from sim.experiment.replications import run_experiment

from .conftest import ROOT, SCENARIOS, make_scenario

runner = CliRunner()

ECONOMICS = (
    "economics.p_meeting_per_outbound_connect=0.1",
    "economics.p_meeting_per_inbound_connect=0.3",
    "economics.p_meeting_per_return_connect=0.2",
    "economics.value_per_meeting=500",
    "economics.rep_cost_per_paid_hour=30",
    "economics.telephony_cost_per_minute=0.02",
    "economics.fee_per_voicemail_drop=0.05",
    "economics.seat_cost_per_rep_per_day=4",
)


def _row(**values) -> pa.Table:
    base = dict(strategy="a", replication=0, outbound_connects=100, inbound_connects=10,
                return_connects=5, connects=115, rep_hours=28.0, dialling_hours=10.0,
                talking_hours=6.0, voicemail_hours=1.0, overtime_hours=0.5, voicemails_left=400,
                recorded_drops=400, recorded_drop_hours=400 * 14 / 3600)
    base.update(values)
    return pa.table({k: [v] for k, v in base.items()})


def test_recorded_drops_by_hand():
    # SMALL: 2 reps x 2 days x 7 paid hours = 28 rep-hours; recorded drops of 14 s
    sc = make_scenario(*ECONOMICS)
    got = {k: float(v[0]) for k, v in economics_columns(_row(), sc).items()}
    meetings = 0.1 * 100 + 0.3 * 10 + 0.2 * 5  # 14
    minutes = 60 * (10 + 6 + 1 + 0.5) + 400 * 14 / 60  # 1050 + 93.33
    cost = 28 * 30 + minutes * 0.02 + 400 * 0.05 + 2 * 2 * 4  # 840 + 22.87 + 20 + 16
    assert got["meetings"] == pytest.approx(14.0)
    assert got["meetings_per_rep_hour"] == pytest.approx(14 / 28)
    assert got["pipeline_value"] == pytest.approx(7000.0)
    assert got["telephony_minutes"] == pytest.approx(1143.3333333)
    assert got["cost_reps"] == pytest.approx(840.0)
    assert got["cost_drops"] == pytest.approx(20.0)
    assert got["cost_seats"] == pytest.approx(16.0)
    assert got["cost_total"] == pytest.approx(cost) and cost == pytest.approx(898.8666667)
    assert got["cost_per_connect"] == pytest.approx(cost / 115)
    assert got["cost_per_meeting"] == pytest.approx(cost / 14)
    assert got["net_value"] == pytest.approx(7000 - cost)
    assert got["net_value_per_rep_hour"] == pytest.approx((7000 - cost) / 28)


def test_live_messages_pay_no_drop_fee_and_no_extra_line_time():
    sc = make_scenario(*ECONOMICS, "voicemail.drop_mode=\"live\"")
    live = _row(recorded_drops=0, recorded_drop_hours=0.0)  # as the model counts live messages
    got = {k: float(v[0]) for k, v in economics_columns(live, sc).items()}
    assert got["cost_drops"] == 0.0
    assert got["telephony_minutes"] == pytest.approx(60 * 17.5)  # live messages: voicemail_hours
    result = run_experiment(sc, seed=3, replications=1, strategies=("always",))
    row = result.summary_table().to_pylist()[0]
    assert row["voicemails_left"] > 0 and row["recorded_drops"] == 0 == row["recorded_drop_hours"]


def test_no_meeting_no_connect_gives_nan_ratios_not_errors():
    sc = make_scenario(*ECONOMICS)
    got = economics_columns(_row(outbound_connects=0, inbound_connects=0, return_connects=0,
                                 connects=0), sc)
    assert math.isnan(got["cost_per_meeting"][0]) and math.isnan(got["cost_per_connect"][0])
    assert got["cost_total"][0] > 0


def test_meetings_equal_connects_times_conversion_on_a_real_run():
    """Expected meetings: exact arithmetic on the simulated counts of every row."""
    sc = make_scenario(*ECONOMICS)
    result = run_experiment(sc, seed=3, replications=2, strategies=("never", "always"))
    summary = result.summary_table()
    got = economics_columns(summary, sc)
    rows = summary.to_pylist()
    assert any(r["inbound_connects"] > 0 for r in rows)  # callbacks do weigh in here
    for i, r in enumerate(rows):
        hand = 0.1 * r["outbound_connects"] + 0.3 * r["inbound_connects"] + 0.2 * r["return_connects"]
        assert got["meetings"][i] == pytest.approx(hand, rel=1e-12)
        line_h = r["dialling_hours"] + r["talking_hours"] + r["voicemail_hours"] + r["overtime_hours"]
        assert got["telephony_minutes"][i] == pytest.approx(60 * line_h + r["voicemails_left"] * 14 / 60)


def test_the_objective_changes_what_is_ranked():
    """'a' has more connects, 'b' more callbacks (worth 0.3 meetings each vs 0.1)."""
    sc = make_scenario(*ECONOMICS)
    rows = {"strategy": [], "replication": []}
    for name, outbound, inbound in (("a", [100, 104, 98], [0, 1, 0]), ("b", [80, 82, 79], [20, 21, 19])):
        for i in range(3):
            values = dict(outbound_connects=outbound[i], inbound_connects=inbound[i],
                          return_connects=0, connects=outbound[i] + inbound[i], rep_hours=28.0,
                          dialling_hours=10.0, talking_hours=6.0, voicemail_hours=1.0,
                          overtime_hours=0.0, voicemails_left=100, recorded_drops=100,
                          recorded_drop_hours=100 * 14 / 3600,
                          connects_per_rep_hour=(outbound[i] + inbound[i]) / 28)
            rows["strategy"].append(name)
            rows["replication"].append(i)
            for k, v in values.items():
                rows.setdefault(k, []).append(v)
    summary = pa.table(rows)
    assert decide(summary, ("a", "b"), sc).best == "a"
    metric, words = objective_metric("meetings", sc)
    found = decide(summary, ("a", "b"), sc, metric=metric)
    assert found.best == "b"  # 10.0 + 6.0 = 16 meetings vs 10.1
    assert "meetings per rep-hour" in found.sentence(words)


def test_objectives_that_need_economics_are_refused_with_one_line(tmp_path):
    with pytest.raises(UserError, match="no \\[economics\\] section"):
        objective_metric("meetings", make_scenario())
    with pytest.raises(UserError, match="value_per_meeting"):
        objective_metric("value", make_scenario("economics.p_meeting_per_outbound_connect=0.1"))
    out = tmp_path / "o"
    res = runner.invoke(app, ["run", str(SCENARIOS / "baseline.toml"), "--objective", "value",
                              "--out", str(out), "-n", "1", "-q"])
    assert res.exit_code == 2 and not out.exists()
    assert len(res.output.strip().splitlines()) == 1, res.output


def test_run_writes_economics_parquet_with_units_and_the_docs_list_every_column(tmp_path):
    out = tmp_path / "o"
    args = ["run", str(SCENARIOS / "baseline.toml"), "-n", "2", "-q", "--out", str(out),
            "--set", "prospects.count=300", "--set", "calendar.days=1", "--objective", "value"]
    for text in ECONOMICS:
        args += ["--set", text]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    table = pq.read_table(out / ECONOMICS_FILE)
    summary = pq.read_table(out / "summary.parquet")
    assert table.num_rows == summary.num_rows
    assert table.column("strategy").to_pylist() == summary.column("strategy").to_pylist()
    units = {f.name: f.metadata[b"unit"].decode() for f in table.schema if f.metadata}
    assert units["cost_total"] == "currency" and units["meetings_per_rep_hour"] == "1/h"
    docs = (ROOT / "docs" / "results.md").read_text()
    for name, *_ in ECONOMICS_COLUMNS:
        assert f"| `{name}` |" in docs, name


def test_report_ranks_the_objective_of_the_run_and_shows_the_money(tmp_path):
    from sim.present.report import REPORT_FILE, write_report

    out = tmp_path / "o"
    args = ["run", str(SCENARIOS / "baseline.toml"), "-n", "2", "-q", "--out", str(out),
            "--set", "prospects.count=300", "--set", "calendar.days=1", "--objective", "meetings",
            "--strategy", "never", "--strategy", "always"]
    for text in ECONOMICS:
        args += ["--set", text]
    assert runner.invoke(app, args).exit_code == 0
    write_report(out)
    page = (out / REPORT_FILE).read_text()
    assert "Ranked by meetings per rep-hour" in page and "--objective meetings" in page
    assert "more meetings (expected) per rep-hour" in page or "less meetings (expected)" in page
    assert "<table id=economics" in page and "$500 (one value for every segment)" in page
    assert "net_value_per_rep_hour" in page  # in the every-metric details too


TWO_SEGMENTS = 'prospects.segments=[{name = "cold", weight = 2}, {name = "warm", weight = 1, p_pickup = 0.5}]'


def test_value_per_meeting_by_segment_by_hand():
    """Each segment's meetings (its conversations in breakdown.parquet x p_meeting) x its
    value, summed; a segment left out is worth value_per_meeting; equal values give
    meetings x value exactly as one value does."""
    sc = make_scenario(*ECONOMICS, TWO_SEGMENTS,
                       "economics.value_per_meeting_by_segment={ warm = 4000 }")
    result = run_experiment(sc, seed=3, replications=2, strategies=("never", "always"))
    summary, breakdown = result.summary_table(), result.breakdown_table()
    got = economics_columns(summary, sc, breakdown)
    seg = [r for r in breakdown.to_pylist() if r["dimension"] == "segment"]
    for i, r in enumerate(summary.to_pylist()):
        mine = [b for b in seg if (b["strategy"], b["replication"]) == (r["strategy"], r["replication"])]
        assert sorted(b["group"] for b in mine) == ["cold", "warm"]
        hand = sum((0.1 * b["outbound_connects"] + 0.3 * b["inbound_connects"]
                    + 0.2 * b["return_connects"]) * (4000 if b["group"] == "warm" else 500)
                   for b in mine)
        assert got["pipeline_value"][i] == pytest.approx(hand, rel=1e-12)
        assert got["net_value"][i] == pytest.approx(hand - got["cost_total"][i], rel=1e-12)
    warm_connects = sum(b["outbound_connects"] for b in seg if b["group"] == "warm")
    assert warm_connects > 0  # the warm segment's value does weigh in
    same = make_scenario(*ECONOMICS, TWO_SEGMENTS,
                         "economics.value_per_meeting_by_segment={ warm = 500, cold = 500 }")
    flat = economics_columns(summary, same, breakdown)
    assert flat["pipeline_value"] == pytest.approx(flat["meetings"] * 500, rel=1e-12)


def test_value_by_segment_needs_the_breakdown_and_known_segments(tmp_path):
    sc = make_scenario(*ECONOMICS, TWO_SEGMENTS,
                       "economics.value_per_meeting_by_segment={ warm = 4000 }")
    with pytest.raises(UserError, match="breakdown"):
        economics_columns(_row(), sc)
    with pytest.raises(Exception, match="value_per_meeting_by_segment: no segment 'enterprise'"):
        make_scenario(*ECONOMICS, TWO_SEGMENTS,
                      "economics.value_per_meeting_by_segment={ enterprise = 4000 }")
    # the whole path: a run folder's report and table use breakdown.parquet
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(SCENARIOS / "baseline.toml"), "-n", "2", "-q",
                                 "--out", str(out), "--objective", "value",
                                 *sum((["--set", o] for o in (*ECONOMICS, TWO_SEGMENTS,
                                       "economics.value_per_meeting_by_segment={ warm = 4000 }",
                                       "calendar.days=2", "prospects.count=800")), [])])
    assert result.exit_code == 0, result.output
    econ = pq.read_table(out / "economics.parquet").to_pylist()
    breakdown = pq.read_table(out / "breakdown.parquet").to_pylist()
    row = econ[0]
    mine = [b for b in breakdown if b["dimension"] == "segment"
            and (b["strategy"], b["replication"]) == (row["strategy"], row["replication"])]
    hand = sum((0.1 * b["outbound_connects"] + 0.3 * b["inbound_connects"]
                + 0.2 * b["return_connects"]) * (4000 if b["group"] == "warm" else 500) for b in mine)
    assert row["pipeline_value"] == pytest.approx(hand, rel=1e-12)
    report = runner.invoke(app, ["report", str(out)])
    assert report.exit_code == 0, report.output
