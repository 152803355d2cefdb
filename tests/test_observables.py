"""Observable rates: derived from the summary counters, written with units, shown to users."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.parquet as pq
from scipy.stats import binom
from typer.testing import CliRunner

from cli import app
from sim.analysis.observables import OBSERVABLE_NAMES, OBSERVABLES, observable_rates
from sim.experiment.runs import execute_run
from tests.conftest import make_scenario

ROOT = Path(__file__).resolve().parents[1]


def test_rates_follow_their_definitions_and_closed_forms(tmp_path):
    # no bad numbers, nobody ever at the phone: every dial reaches a greeting with
    # probability p_voicemail_box (drawn per dial here, so dials are independent), else
    # rings out; no conversation is possible
    sc = make_scenario("prospects.segments.0.p_bad_number=0", "prospects.segments.0.reachability=0",
                       "prospects.segments.0.p_voicemail_box=0.4", 'prospects.voicemail_box="dial"')
    execute_run(sc, out_dir=tmp_path / "r", seed=3, replications=2, strategies=("never", "always"), workers=1)
    summary = pq.read_table(tmp_path / "r" / "summary.parquet")
    rows = summary.to_pylist()
    for row in rows:
        assert row["conversation_rate"] == 0 and row["live_answer_share"] == 0
        assert row["voicemail_share"] == row["voicemails_reached"] / row["dials"]
        assert row["callbacks_per_message_left"] == (
            row["callbacks_received"] / row["voicemails_left"] if row["voicemails_left"] else None)
        assert row["contacts_per_prospect"] == row["prospects_reached"] / row["prospects_dialled"]
        # a binomial share: the two-sided 99.9% range of Binomial(dials, 0.4)
        low, high = binom.ppf([0.0005, 0.9995], row["dials"], 0.4) / row["dials"]
        assert low <= row["voicemail_share"] <= high
    for name, unit, desc, *_ in OBSERVABLES:
        meta = summary.schema.field(name).metadata
        assert meta[b"unit"].decode() == unit and meta[b"description"].decode() == desc
    comparison = pq.read_table(tmp_path / "r" / "comparison.parquet").to_pylist()
    assert {r["metric"] for r in comparison} >= set(OBSERVABLE_NAMES)


def test_undefined_rates_are_null_not_zero():
    rates = observable_rates({"outbound_connects": [1], "gatekeeper_answers": [0], "dials": [0],
                              "live_answers": [0], "voicemails_reached": [0], "callbacks_received": [2],
                              "voicemails_left": [0], "prospects_reached": [0], "prospects_dialled": [3]})
    assert math.isnan(rates["conversation_rate"][0]) and math.isnan(rates["callbacks_per_message_left"][0])
    assert rates["contacts_per_prospect"][0] == 0


def test_the_run_table_shows_them_and_the_docs_list_them(tmp_path):
    result = CliRunner().invoke(app, ["run", str(ROOT / "scenarios" / "baseline.toml"), "-n", "2",
                                      "--out", str(tmp_path / "o"), "--workers", "1",
                                      "--set", "calendar.days=1", "--set", "prospects.count=300"])
    assert result.exit_code == 0, result.output
    assert "rates to hold against your dashboard" in result.output
    assert "per dial" in result.output and "attempts" in result.output
    doc = (ROOT / "docs" / "results.md").read_text()
    for name, unit, *_ in OBSERVABLES:
        assert f"| `{name}` | double | {unit} |" in doc
