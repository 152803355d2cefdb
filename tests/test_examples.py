"""The shipped sample log is dialsim's own, labelled synthetic, and the how-to runs on it."""

from __future__ import annotations

from pathlib import Path

from sim.calibration.pipeline import fit_log, load_log
from sim.scenario.schema import build_scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_the_sample_log_is_labelled_synthetic_and_fits_to_a_valid_scenario():
    for name in ("README.md", "sample_team_truth.toml", "make_sample_log.py"):
        assert "SYNTHETIC" in (ROOT / "examples" / name).read_text(), name
    truth = load_scenario(ROOT / "examples" / "sample_team_truth.toml")
    loaded = load_log(ROOT / "examples" / "sample_calls.csv")
    assert loaded.format == "generic" and len(loaded.log) > 5000
    outcome = fit_log(loaded, "team", "sample_calls.csv")
    import tomllib

    fitted = build_scenario(tomllib.loads(outcome.toml), "team.toml")
    assert fitted.team.reps == truth.team.reps
    assert outcome.strategy == {"name": "first_n", "kind": "first_n", "n": 2}
    # the how-to quotes these: the truth inside the interval
    seg = truth.prospects.segments[0]
    for key, value in (("prospects.segments.0.p_voicemail_box", seg.p_voicemail_box),
                       ("screening.answer_mult_per_silent_miss", truth.screening.answer_mult_per_silent_miss)):
        est = outcome.fit.estimate(key)
        assert est.low <= value <= est.high, key


def test_the_readme_usage_block_shows_fit_and_calibrate():
    readme = (ROOT / "README.md").read_text()
    assert "dialsim fit examples/sample_calls.csv -o team.toml" in readme
    assert "dialsim calibrate" in readme
