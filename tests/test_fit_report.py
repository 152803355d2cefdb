"""The fit report: profiles computed right, and the CLI writes the page and its chart."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from cli import app
from sim.calibration.calllog import read_call_log
from sim.calibration.profiles import live_answer_profiles
from sim.experiment.runs import execute_run
from sim.scenario.schema import build_scenario

ROWS = [  # prospect a: miss, miss, connect; b: connect; c: voicemail, gatekeeper
    "a,2026-03-02T09:05:00Z,outbound,no_answer",
    "a,2026-03-03T10:05:00Z,outbound,voicemail_silent",
    "a,2026-03-04T09:10:00Z,outbound,connect",
    "b,2026-03-02T09:20:00Z,outbound,connect",
    "c,2026-03-02T10:00:00Z,outbound,voicemail_left",
    "c,2026-03-03T10:30:00Z,outbound,gatekeeper",
    "d,2026-03-02T10:40:00Z,outbound,bad_number",
]


def test_profiles_count_live_answers_by_attempt_hour_and_misses(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("prospect_id,start_time,direction,outcome\n" + "\n".join(ROWS) + "\n")
    prof = live_answer_profiles(read_call_log(path), min_dials=1)
    attempt = prof["attempt"]
    assert list(attempt.groups) == [1, 2, 3] and list(attempt.dials) == [3, 2, 1]  # bad number left out
    assert list(attempt.live) == [1, 1, 1]
    hour = prof["hour"]
    assert list(hour.groups) == [9, 10] and list(hour.dials) == [3, 3] and list(hour.live) == [2, 1]
    misses = prof["silent_misses"]
    assert list(misses.groups) == [0, 1, 2] and list(misses.dials) == [4, 1, 1]
    assert list(misses.live) == [2, 0, 1]
    assert np.all((attempt.low <= attempt.share) & (attempt.share <= attempt.high))


def test_fit_writes_the_report_page_and_chart(tmp_path):
    scenario = build_scenario({"schema_version": 1, "calendar": {"days": 3}, "team": {"reps": 2},
                               "prospects": {"count": 600}, "strategies": ["always"]}, "t")
    execute_run(scenario, out_dir=tmp_path / "run", seed=2, replications=1, strategies=("always",),
                workers=1, calls=True)
    out = tmp_path / "team.toml"
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "run" / "calls.parquet"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "team-fit.html").read_text()
    png = (tmp_path / "team-fit.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and "data:image/png;base64," in page
    for name in ("conversation_rate", "voicemail_share", "callbacks_per_message_left"):
        assert f"<th scope=row>{name}</th>" in page
    assert "prospects.segments.0.reachability" in page and "Not informed by this log" in page
    again = CliRunner().invoke(app, ["fit", str(tmp_path / "run" / "calls.parquet"), "-o",
                                     str(tmp_path / "other.toml")])
    assert again.exit_code == 0
    quiet = CliRunner().invoke(app, ["fit", str(tmp_path / "run" / "calls.parquet"), "-o",
                                     str(tmp_path / "bare.toml"), "--no-report"])
    assert quiet.exit_code == 0 and not (tmp_path / "bare-fit.html").exists()


def test_a_scenario_file_says_no_break_with_none():
    sc = build_scenario({"schema_version": 1, "calendar": {"break_start": "none", "break_end": "None"}}, "t")
    assert sc.calendar.break_start is None and sc.calendar.work_windows_s() == [(9 * 3600, 17 * 3600)]
