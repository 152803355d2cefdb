"""Breakdowns the timeline allows: by hour of day (team's clock)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from cli import app
from sim.analysis.breakdowns import best_hours, by_hour
from sim.experiment.replications import run_experiment

from .conftest import SCENARIOS, make_scenario

runner = CliRunner()


def test_answer_rate_by_hour_by_hand():
    # replication 0: 9h 10 answers of 100 dials over two days (40 + 60 dials), 10h 5 of 50;
    # replication 1: 9h 30 of 100; 10h no dial at all (left out of that hour's mean)
    rows = [("a", 0, 0, 9, 40, 4), ("a", 0, 1, 9, 60, 6), ("a", 0, 0, 10, 50, 5),
            ("a", 1, 0, 9, 100, 30), ("a", 1, 1, 10, 0, 0)]
    keys = ("strategy", "replication", "day", "hour", "dials", "live_answers")
    timeline = pa.table({k: [r[i] for r in rows] for i, k in enumerate(keys)})
    got = {r["hour"]: r for r in by_hour(timeline).to_pylist()}
    assert sorted(got) == [9, 10]
    assert got[9]["answers_per_100_dials"] == pytest.approx(20.0)  # mean of 10% and 30%
    assert got[9]["dials_per_day"] == pytest.approx(100.0 / 2)  # 100 dials over 2 days
    assert got[10]["answers_per_100_dials"] == pytest.approx(10.0)  # only replication 0
    assert got[10]["dials_per_day"] == pytest.approx(25.0 / 2)  # (50 + 0) / 2 reps / 2 days
    assert best_hours(by_hour(timeline), "a", k=1) == [9]  # 10h: one replication, no interval


def test_hours_sum_to_the_campaign_totals():
    sc = make_scenario()
    result = run_experiment(sc, seed=2, replications=2, strategies=("never", "always"))
    table = by_hour(result.timeline_table())
    summary = result.summary_table().to_pylist()
    for name in ("never", "always"):
        rows = [r for r in table.to_pylist() if r["strategy"] == name]
        dials = sum(r["dials_per_day"] for r in rows) * sc.calendar.days
        mean_dials = np.mean([r["dials"] for r in summary if r["strategy"] == name])
        assert dials == pytest.approx(mean_dials, rel=1e-12)
        assert all(0 <= r["answers_per_100_dials"] <= 100 for r in rows)


def test_cli_by_hour_prints_the_table_and_refuses_what_it_cannot_split(tmp_path):
    base = ["run", str(SCENARIOS / "baseline.toml"), "-n", "2", "--set", "prospects.count=300",
            "--set", "calendar.days=1", "--strategy", "never"]
    res = runner.invoke(app, base + ["--by", "hour", "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "live answers per 100 dials by hour of day" in res.output
    assert "09:00" in res.output and "best hours to call (never" in res.output
    res = runner.invoke(app, base + ["--by", "segment", "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())  # the title wraps to the table's width
    assert "conversations per 100 dials by segment" in text and "│ cold" in res.output
    res = runner.invoke(app, base + ["--by", "weekday", "--out", str(tmp_path / "c")])
    assert res.exit_code == 2 and not (tmp_path / "c").exists()
    assert "--by 'weekday': choose hour, local_hour, segment, time_zone, group" in res.output


def test_local_hours_sum_to_their_zone_and_stay_in_the_calling_window(tmp_path):
    """Per zone, the local-hour rows' dials and outbound connects sum to the zone's row;
    every hour with a dial lies in the prospects' calling window (their own clock); the
    CLI prints each zone's best hour."""
    import pyarrow.parquet as pq
    from typer.testing import CliRunner

    from cli import app

    out = tmp_path / "o"
    result = CliRunner().invoke(app, [
        "run", str(SCENARIOS / "predictive_dialer.toml"), "-n", "2", "--workers", "1",
        "--set", "calendar.days=1", "--set", "team.reps=8", "--set", "prospects.count=6000",
        "--by", "local_hour", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "local hour" in result.output and "★" in result.output
    rows = pq.read_table(out / "breakdown.parquet").to_pylist()
    local = [r for r in rows if r["dimension"] == "local_hour"]
    zones = [r for r in rows if r["dimension"] == "time_zone"]
    assert local and {r["group"] for r in local} <= {r["group"] for r in zones}
    for zone in zones:
        mine = [r for r in local if (r["strategy"], r["replication"], r["group"])
                == (zone["strategy"], zone["replication"], zone["group"])]
        assert sum(r["dials"] for r in mine) == zone["dials"]
        assert sum(r["outbound_connects"] for r in mine) == zone["outbound_connects"]
    # each zone's hours are the team's working hours moved to the zone's clock (and in
    # the prospects' 08:00-21:00 calling window)
    from sim.scenario.schema import load_scenario

    scenario = load_scenario(SCENARIOS / "predictive_dialer.toml")
    for zone in scenario.prospects.time_zones:
        allowed = {int((start + zone.utc_offset_h * 3600 + s) % 86400 // 3600)
                   for start, end in scenario.calendar.work_windows_s()
                   for s in range(0, int(end - start) + 60, 60)}
        hours = {r["hour"] for r in local if r["group"] == zone.name}
        assert hours and hours <= allowed and all(8 <= h < 21 for h in hours), (zone.name, hours)
    assert all(r["hour"] is None for r in rows if r["dimension"] != "local_hour")


def test_the_report_splits_by_segment_and_zone_and_names_each_zones_best_hour(tmp_path):
    out = tmp_path / "o"
    ran = runner.invoke(app, [
        "run", str(SCENARIOS / "predictive_dialer.toml"), "-n", "2", "--workers", "1", "-q",
        "--set", "calendar.days=1", "--set", "team.reps=8", "--set", "prospects.count=6000",
        "--set", 'prospects.segments=[{name = "cold", weight = 2}, {name = "warm", weight = 1}]',
        "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    made = runner.invoke(app, ["report", str(out)])
    assert made.exit_code == 0, made.output
    html = (out / "report.html").read_text()
    table = html[html.index("id=splits-table"):html.index("</table>", html.index("id=splits-table"))]
    for name in ("cold", "warm", "eastern", "central", "pacific"):
        assert f">{name}<" in table
    best = html[html.index("id=best-hours-table"):]
    best = best[:best.index("</table>")]
    assert best.count("<tr><th scope=row>") == 3


def test_several_breakdowns_in_one_run():
    res = runner.invoke(app, ["run", str(SCENARIOS / "two_offices.toml"), "-n", "2", "--workers", "1",
                              "--set", "calendar.days=1", "--set", "prospects.count=3000",
                              "--by", "group", "--by", "local_hour", "--by", "group"])
    assert res.exit_code == 0, res.output
    assert res.output.count("connects per rep-hour by rep group") == 1  # asked twice, shown once
    assert "by the prospect's local hour" in res.output
