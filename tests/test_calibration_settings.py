"""What fit reads off a log besides behaviour: zones, calling window, opt-outs, the strategy."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import beta

from sim.calibration.calllog import read_call_log
from sim.calibration.estimate import fit_call_log
from sim.calibration.pipeline import fit_log, load_log
from sim.calibration.write import infer_strategy
from sim.scenario.schema import build_scenario

DEFAULTS = build_scenario({"schema_version": 1}).resolved()
T0 = 1767621600  # 2026-01-05 14:00 UTC = 09:00 at UTC-5


def write_log(tmp_path: Path, rows: list[dict], name: str = "log.parquet") -> Path:
    columns = {key: [row.get(key) for row in rows] for key in rows[0]}
    columns["start_time"] = pa.array(columns["start_time"], type=pa.timestamp("s", tz="UTC"))
    pq.write_table(pa.table(columns), tmp_path / name)
    return tmp_path / name


def test_time_zones_and_the_calling_window_are_read(tmp_path):
    rows = []
    for p in range(100):
        zone = -5.0 if p < 60 else -8.0
        for day in range(2):
            # team dials 09:00-16:00 New York; west-coast prospects see 06:00-13:00
            t = T0 + day * 86400 + (p % 8) * 3600 + 60 * p % 3000
            rows.append({"prospect_id": f"p{p}", "start_time": t, "direction": "outbound",
                         "outcome": "no_answer", "prospect_utc_offset_h": zone})
    # start_time written in UTC: the team's clock is then UTC; say it with a zone name instead
    path = tmp_path / "zones.parquet"
    table = pa.table({k: [r[k] for r in rows] for k in rows[0]})
    table = table.set_column(1, "start_time", pa.array([r["start_time"] for r in rows],
                                                       type=pa.timestamp("s", tz="America/New_York")))
    pq.write_table(table, path)
    outcome = fit_log(load_log(path), "team", str(path))
    settings = {s.key: s.value for s in outcome.fit.settings}
    zones = {z["utc_offset_h"]: z["weight"] for z in settings["prospects.time_zones"]}
    assert zones == {-3.0: 0.4, 0.0: 0.6}  # relative to the team's clock (New York)
    # earliest local dial: 06:00 in the west; latest: 16:xx in New York
    assert settings["prospects.calling_window_start"] == "06:00"
    assert settings["prospects.calling_window_end"] == "17:00"
    scenario = build_scenario(outcome.scenario, "fitted")
    assert sorted(z.utc_offset_h for z in scenario.prospects.time_zones) == [-3.0, 0.0]


def test_opt_outs_on_first_touches_with_exact_intervals(tmp_path):
    rows = []
    for p in range(300):
        t = T0 + 60 * p
        if p < 200:  # 10 of 200 first connects opt out
            rows.append({"prospect_id": f"c{p}", "start_time": t, "direction": "outbound",
                         "outcome": "connect", "opt_out": p < 10})
        else:  # 4 of 100 first messages end in an opt-out
            rows.append({"prospect_id": f"m{p}", "start_time": t, "direction": "outbound",
                         "outcome": "voicemail_left", "opt_out": p < 204})
    fit = fit_call_log(read_call_log(write_log(tmp_path, rows)), DEFAULTS)
    connect = fit.estimate("opt_out.p_per_connect")
    assert connect.value == pytest.approx(0.05) and connect.n == 200
    assert connect.low == pytest.approx(beta.ppf(0.025, 10, 191))
    heard = fit.estimate("opt_out.p_per_heard_voicemail")
    p_listen = DEFAULTS["callbacks"]["p_listen"]
    assert heard.value == pytest.approx(0.04 / p_listen) and heard.n == 100


def _strategy_log(tmp_path, messages_by_encounter, ids=None, name="s.parquet"):
    rows = []
    for p in range(40):
        for e, leave in enumerate(messages_by_encounter):
            rows.append({"prospect_id": f"p{p}", "start_time": T0 + e * 86400 + 60 * p,
                         "direction": "outbound",
                         "outcome": "voicemail_left" if leave else "voicemail_silent",
                         "message_id": (ids[e] if ids else "A") if leave else None})
    return read_call_log(write_log(tmp_path, rows, name))


@pytest.mark.parametrize("pattern,ids,expected", [
    ([1, 1, 1, 1], None, {"name": "always"}),
    ([0, 0, 0, 0], None, {"name": "never"}),
    ([1, 1, 1, 1], ["A", "B", "C", "A"], {"name": "rotate", "kind": "rotate", "n_messages": 3}),
    ([1, 0, 0, 0], None, {"name": "first_n", "kind": "first_n", "n": 1}),
    ([0, 1, 0, 1], None, None),
])
def test_the_strategy_the_log_shows(tmp_path, pattern, ids, expected):
    assert infer_strategy(_strategy_log(tmp_path, pattern, ids)) == expected
