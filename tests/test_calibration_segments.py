"""A log with a segment column: each segment gets its own list parameters."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.calibration.adapters import from_dialsim
from sim.calibration.pipeline import fit_log, load_log
from sim.experiment.runs import execute_run
from sim.model.streams import build_world
from sim.scenario.schema import build_scenario

TRUTH = {
    "schema_version": 1, "name": "segments",
    "calendar": {"days": 10}, "team": {"reps": 4},
    "screening": {"answer_mult_per_silent_miss": 0.8},
    "prospects": {"count": 3000, "segments": [
        {"name": "cold", "weight": 0.7, "p_bad_number": 0.12, "reachability": 0.25,
         "reachability_concentration": 5.0, "p_voicemail_box": 0.8, "p_right_party": 0.7},
        {"name": "warm", "weight": 0.3, "p_bad_number": 0.03, "reachability": 0.55,
         "reachability_concentration": 8.0, "p_voicemail_box": 0.6, "p_right_party": 0.85}]},
    "strategies": [{"name": "first_n", "kind": "first_n", "n": 2}],
}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("segments")
    scenario = build_scenario(copy.deepcopy(TRUTH), "truth")
    execute_run(scenario, out_dir=tmp / "run", seed=4, replications=2, strategies=("first_n",),
                workers=1, calls=True)
    table, _ = from_dialsim(pq.read_table(tmp / "run" / "calls.parquet"), tmp / "run" / "calls.parquet")
    # the call log does not carry segments: a CRM export would; take them from the world
    names = np.array([s["name"] for s in TRUTH["prospects"]["segments"]], dtype=object)
    ids = table.column("prospect_id").to_numpy()
    replication, prospect = ids // 10_000_000, ids % 10_000_000
    segment = np.empty(len(ids), dtype=object)
    for r in (0, 1):
        world = build_world(scenario, 4, r)
        rows = replication == r
        segment[rows] = names[world.segment[prospect[rows]]]
    table = table.append_column("segment", pa.array(segment.astype(str)))
    pq.write_table(table, tmp / "log.parquet")
    return fit_log(load_log(tmp / "log.parquet", "generic"), "team", "log.parquet")


def test_each_segment_gets_its_own_list_parameters(fitted):
    fit = fitted.fit
    settings = {s.key: s.value for s in fit.settings}
    order = [settings[f"prospects.segments.{i}.name"] for i in (0, 1)]
    truth = {s["name"]: s for s in TRUTH["prospects"]["segments"]}
    misses = []
    for i, name in enumerate(order):
        assert settings[f"prospects.segments.{i}.weight"] == pytest.approx(truth[name]["weight"], abs=0.03)
        for key in ("p_bad_number", "p_voicemail_box", "p_right_party", "reachability"):
            est = fit.estimate(f"prospects.segments.{i}.{key}")
            value = truth[name][key]
            half = (est.high - est.value) if value > est.value else (est.value - est.low)
            assert abs(value - est.value) <= 2 * half, (name, key, value, est.low, est.high)
            if not est.low <= value <= est.high:
                misses.append((name, key))
    assert len(misses) <= 1, misses
    cold, warm = (fit.estimate(f"prospects.segments.{order.index(n)}.reachability").value for n in ("cold", "warm"))
    assert warm > cold + 0.15
    est = fit.estimate("screening.answer_mult_per_silent_miss")
    assert est.low - (est.high - est.low) / 2 <= 0.8 <= est.high + (est.high - est.low) / 2


def test_the_written_scenario_has_one_table_per_segment(fitted):
    data = tomllib.loads(fitted.toml)
    scenario = build_scenario(data, "team.toml")
    assert sorted(s.name for s in scenario.prospects.segments) == ["cold", "warm"]
    weights = {s.name: s.weight for s in scenario.prospects.segments}
    assert weights["cold"] > weights["warm"]
