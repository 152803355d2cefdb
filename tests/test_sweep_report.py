"""sweep_report.html from known rows: ties are nobody's win, text from files is escaped."""

from __future__ import annotations

from sim.present.sweep_report import render_sweep_report


def row(point_id, value, winner, runner_up, clear):
    return {"point_id": point_id, "is_winner": True, "winner": winner, "runner_up": runner_up,
            "margin_clear": clear, "margin_mean": 0.1, "margin_ci95_low": 0.05 if clear else -0.02,
            "margin_ci95_high": 0.15, "connects_per_rep_hour_mean": 5.0,
            "callbacks.p_callback": value}


def test_ties_are_counted_apart_and_names_are_escaped():
    manifest = {"sweep_name": "<script>x</script>", "parameters": [{"key": "callbacks.p_callback"}]}
    rows = [row(0, 0.01, "rotate", "always", True), row(1, 0.02, "rotate", "always", False),
            row(2, 0.05, "never", "rotate", True)]
    page = render_sweep_report(manifest, rows, {})
    assert "<b>rotate</b> at 1 of 3 points, <b>never</b> at 1 of 3 points" in page
    assert "Ties, not wins: 1 of 3 points" in page
    assert "rotate ~ always (tie)" in page and page.count("<tr class=tie>") == 1
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "P(callback | a fresh message heard)" in page  # the key's description
