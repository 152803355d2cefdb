"""VICIdial and HubSpot-style exports through their mapping tables, on hand-written rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.calibration.adapters import HUBSPOT_OUTCOMES, VICIDIAL_STATUSES
from sim.calibration.calllog import OUTCOME_NAMES
from sim.calibration.pipeline import fit_log, load_log
from sim.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
VICI_HEADER = "uniqueid,lead_id,list_id,campaign_id,call_date,start_epoch,end_epoch,length_in_sec,status,phone_code,phone_number,user,comments,processed,user_group,term_reason,alt_dial"
# 1767621600 is 2026-01-05 14:00 UTC: 09:00 on a server at UTC-5
VICI_ROWS = [
    "u1,1001,101,COLD,2026-01-05 09:00:00,1767621600,1767621622,22,AA,1,5551230001,rep1,AUTO,N,SALES,CALLER,MAIN",
    "u2,1002,101,COLD,2026-01-05 09:00:30,1767621630,1767621724,94,SALE,1,5551230002,rep1,AUTO,N,SALES,CALLER,MAIN",
    "u3,1003,101,COLD,2026-01-05 09:01:40,1767621700,1767621704,4,DC,1,5551230003,rep2,AUTO,N,SALES,CALLER,MAIN",
    "u4,1001,101,COLD,2026-01-06 09:00:00,1767708000,1767708036,36,AL,1,5551230001,rep2,AUTO,N,SALES,CALLER,MAIN",
    "u5,1004,101,COLD,2026-01-06 09:01:00,1767708060,1767708080,20,N,1,5551230004,rep2,AUTO,N,SALES,CALLER,MAIN",
    "u6,1005,101,COLD,2026-01-06 09:01:40,1767708100,1767708160,60,DNC,1,5551230005,rep1,AUTO,N,SALES,CALLER,MAIN",
]
HUB_HEADER = "Contact ID,Activity date,Call direction,Call outcome,Call duration (seconds),Activity assigned to"
HUB_ROWS = [
    "c1,2026-03-02 09:15:00,Outbound,No answer,0,Ann",
    "c1,2026-03-03 10:15:00,Outbound,Left voicemail,25,Ann",
    "c1,2026-03-03 14:40:00,Inbound,Connected,180,Ann",
    "c2,2026-03-02 09:20:00,Outbound,Connected,95,Bob",
    "c3,2026-03-02 09:25:00,Outbound,Wrong number,0,Bob",
    "c4,2026-03-02 09:30:00,Outbound,Left live message,40,Bob",
]


def write(tmp_path: Path, name: str, header: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def by_prospect(log) -> dict:
    ids = np.asarray(log.prospect_ids.to_pylist(), dtype=object)[log.prospect]
    out = {}
    for i, pid in enumerate(ids):
        out.setdefault(str(pid), []).append(OUTCOME_NAMES[log.outcome[i]])
    return out


def test_the_mapping_tables_only_name_real_outcomes():
    for table in (VICIDIAL_STATUSES, HUBSPOT_OUTCOMES):
        assert {outcome for outcome, _opt, _desc in table.values()} <= set(OUTCOME_NAMES)


def test_vicidial_rows_map_statuses_times_and_opt_outs(tmp_path):
    loaded = load_log(write(tmp_path, "vicidial_log.csv", VICI_HEADER, VICI_ROWS))
    assert loaded.format == "vicidial"
    log = loaded.log
    assert by_prospect(log) == {"1001": ["voicemail_silent", "voicemail_left"], "1002": ["connect"],
                                "1003": ["bad_number"], "1004": ["no_answer"], "1005": ["connect"]}
    assert set(log.team_offset_s) == {-5 * 3600.0}  # call_date minus start_epoch
    local_h = ((log.t_s + log.team_offset_s) % 86400) / 3600
    assert np.all((local_h >= 9) & (local_h < 9.1))
    ids = np.asarray(log.prospect_ids.to_pylist(), dtype=object)[log.prospect]
    assert list(ids[log.opt_out]) == ["1005"]  # DNC on the call
    assert sorted(log.talk_s[~np.isnan(log.talk_s)]) == [60.0, 94.0]  # talk of connects only
    assert list(log.attempt[ids == "1001"]) == [1, 2]


def test_vicidial_unknown_statuses_are_listed_and_a_mapping_file_adds_them(tmp_path):
    rows = VICI_ROWS + [VICI_ROWS[4].replace(",N,", ",APPSET,").replace("u5", "u7").replace("1004", "1006"),
                        VICI_ROWS[4].replace(",N,", ",WARM,").replace("u5", "u8").replace("1004", "1007")]
    path = write(tmp_path, "vicidial_log.csv", VICI_HEADER, rows)
    with pytest.raises(UserError, match=r"vicidial_log\.csv, line 8, column status: unknown status "
                                        r"'APPSET', 'WARM' \(map it in a --mapping file"):
        load_log(path)
    mapping = tmp_path / "map.toml"
    mapping.write_text('[statuses]\nAPPSET = "connect"\nWARM = {outcome = "gatekeeper"}\nN = "voicemail_silent"\n')
    log = load_log(path, mapping=mapping).log
    got = by_prospect(log)
    assert got["1006"] == ["connect"] and got["1007"] == ["gatekeeper"]
    assert got["1004"] == ["voicemail_silent"]  # the file overrides a default too
    bad = tmp_path / "bad.toml"
    bad.write_text('[statuses]\nAPPSET = "meeting"\n')
    with pytest.raises(UserError, match=r"statuses\.APPSET: 'meeting' is not an outcome"):
        load_log(path, mapping=bad)


def test_hubspot_rows_map_dispositions_directions_and_zones(tmp_path):
    path = write(tmp_path, "calls.csv", HUB_HEADER, HUB_ROWS)
    with pytest.raises(UserError, match=r"line 2, column start_time: '2026-03-02 09:15:00' has no UTC offset"):
        load_log(path)
    loaded = load_log(path, time_zone="-05:00")
    assert loaded.format == "hubspot" and not loaded.voicemail_box_known
    assert by_prospect(loaded.log) == {
        "c1": ["no_answer", "voicemail_left", "inbound_connect"], "c2": ["connect"],
        "c3": ["bad_number"], "c4": ["gatekeeper"]}
    assert set(loaded.log.team_offset_s) == {-5 * 3600.0}
    fit = fit_log(loaded, "team", str(path)).fit
    assert fit.estimate("prospects.segments.0.p_voicemail_box") is None
    assert any(key.endswith("p_voicemail_box") for key, _why in fit.uninformed)


def test_hubspot_columns_can_be_renamed(tmp_path):
    header = HUB_HEADER.replace("Call outcome", "Disposition")
    path = write(tmp_path, "calls.csv", header, HUB_ROWS)
    with pytest.raises(UserError, match=r"column Call outcome: required column of a HubSpot-style export"):
        load_log(path, fmt="hubspot", time_zone="Z")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\noutcome = "Disposition"\n')
    assert len(load_log(path, fmt="hubspot", mapping=mapping, time_zone="Z").log) == 6


def test_the_docs_show_both_mapping_tables():
    doc = (ROOT / "docs" / "calibration.md").read_text()
    for status, (outcome, _opt, _desc) in VICIDIAL_STATUSES.items():
        assert f"| `{status}` | `{outcome}` |" in doc, status
    for status, (outcome, _opt, _desc) in HUBSPOT_OUTCOMES.items():
        assert f"| {status} | `{outcome}` |" in doc, status
