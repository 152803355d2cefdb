"""The call-log reader: the generic schema, dialsim's calls.parquet, and bad input.

Every bad input gets one line naming the file, the row (CSV line) and the column,
exit code 2, and nothing is written.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli import app
from sim.calibration.calllog import COLUMNS, OUTCOME_CODE, read_call_log
from sim.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
HEADER = "prospect_id,start_time,direction,outcome,ring_s,talk_s,attempt"
GOOD_ROWS = [
    "p1,2026-03-02T09:00:00-05:00,outbound,no_answer,20,,1",
    "p1,2026-03-03T09:30:00-05:00,outbound,voicemail_left,20,,2",
    "p1,2026-03-03T12:10:00-05:00,inbound,inbound_connect,,140,2",
    "p2,2026-03-02T14:00:05Z,outbound,connect,7.5,92,1",
    "p3,2026-03-02T10:00:00.250-05:00,outbound,bad_number,,,1",
]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_good_csv_reads_sorted_with_times_zones_and_attempts(tmp_path):
    log = read_call_log(write_csv(tmp_path, GOOD_ROWS[::-1]))  # order in the file does not matter
    assert len(log) == 5 and log.n_prospects == 3
    ids = log.prospect_ids.to_pylist()
    order = [ids[p] for p in log.prospect]
    assert order == sorted(order, key=ids.index)  # grouped by prospect
    p1 = np.flatnonzero(np.array(order) == "p1")
    assert list(log.attempt[p1]) == [1, 2, 2]  # the inbound call names the attempt that caused it
    # 09:00 at -05:00 is 14:00 UTC; the offset is kept as the team's clock
    first = p1[0]
    assert log.t_s[first] % 86400 == 14 * 3600
    assert log.team_offset_s[first] == -5 * 3600
    p3 = np.flatnonzero(np.array(order) == "p3")[0]
    assert log.t_s[p3] % 1 == pytest.approx(0.25)
    assert log.outcome[p3] == OUTCOME_CODE["bad_number"]
    assert np.isnan(log.talk_s[first]) and log.ring_s[first] == 20


def test_attempts_are_counted_from_times_when_the_log_has_none(tmp_path):
    rows = [",".join(r.split(",")[:-1]) for r in GOOD_ROWS]
    log = read_call_log(write_csv(tmp_path, rows, HEADER.rsplit(",", 1)[0]))
    ids = np.array(log.prospect_ids.to_pylist())[log.prospect]
    assert list(log.attempt[ids == "p1"]) == [1, 2, 2]


BAD_CASES = [
    # (rows or None for the header, header, expected message pattern)
    ("missing column", [",".join(r.split(",")[:3]) for r in GOOD_ROWS], "prospect_id,start_time,direction",
     r"log\.csv, column outcome: required column is missing"),
    ("unknown outcomes listed", GOOD_ROWS[:1] + ["p9,2026-03-02T09:00:00Z,outbound,SALE,,,1",
                                                  "p8,2026-03-02T09:00:00Z,outbound,Busy,,,1"],
     HEADER, r"log\.csv, line 3, column outcome: unknown outcome 'SALE', 'Busy' \(expected one of"),
    ("unparseable time", GOOD_ROWS[:2] + ["p4,yesterday at 9,outbound,connect,,,1"], HEADER,
     r"log\.csv, line 4, column start_time: 'yesterday at 9' is not a time"),
    ("impossible date", ["p4,2026-02-30T09:00:00Z,outbound,connect,,,1"], HEADER,
     r"line 2, column start_time: '2026-02-30T09:00:00Z' is not a valid date and time"),
    ("mixed time-zone forms", GOOD_ROWS[:1] + ["p4,2026-03-02T09:00:00,outbound,connect,,,1"], HEADER,
     r"line 3, column start_time: mixed time-zone forms: '2026-03-02T09:00:00' has no UTC offset "
     r"but line 2 has one"),
    ("no zone at all", ["p4,2026-03-02T09:00:00,outbound,connect,,,1"], HEADER,
     r"line 2, column start_time: '2026-03-02T09:00:00' has no UTC offset"),
    ("duplicate rows", GOOD_ROWS + [GOOD_ROWS[1]], HEADER,
     r"log\.csv, line 7: duplicate call: the same prospect, start time and direction as line 3"),
    ("non-monotone attempts", ["p1,2026-03-02T09:00:00Z,outbound,no_answer,20,,2",
                               "p1,2026-03-03T09:00:00Z,outbound,no_answer,20,,1"], HEADER,
     r"line 2, column attempt: attempt 2 is out of order"),
    ("callback before its cause", ["p1,2026-03-02T09:00:00Z,inbound,inbound_connect,,100,1",
                                   "p1,2026-03-03T09:00:00Z,outbound,voicemail_left,20,,1"], HEADER,
     r"line 2, column attempt: a inbound call caused by attempt 1 starts before"),
    ("outcome of the wrong direction", ["p1,2026-03-02T09:00:00Z,inbound,connect,,100,1"], HEADER,
     r"line 2, column outcome: 'connect' is not an outcome of a inbound call"),
    ("not a number", ["p1,2026-03-02T09:00:00Z,outbound,connect,abc,100,1"], HEADER,
     r"line 2, column ring_s: 'abc' is not a number"),
    ("negative duration", ["p1,2026-03-02T09:00:00Z,outbound,connect,5,-3,1"], HEADER,
     r"line 2, column talk_s: -3.0 is out of range"),
    ("empty id", [",2026-03-02T09:00:00Z,outbound,connect,5,3,1"], HEADER,
     r"line 2, column prospect_id: is empty"),
    ("only a header", [], HEADER, r"log\.csv: the call log has no calls"),
    ("a row with too many fields", GOOD_ROWS[:2] + ["p1,2026-03-02T09:00:00Z,outbound,connect,5,3,1,extra"],
     HEADER, r"log\.csv, line 4: expected 7 fields, found 8"),
]


@pytest.mark.parametrize("label,rows,header,pattern", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_is_one_line_naming_file_row_and_column(tmp_path, label, rows, header, pattern):
    path = write_csv(tmp_path, rows, header)
    with pytest.raises(UserError) as info:
        read_call_log(path)
    message = str(info.value)
    assert "\n" not in message
    assert re.search(pattern, message), message


def test_an_empty_file_and_a_missing_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match=r"empty\.csv: the file is empty"):
        read_call_log(empty)
    with pytest.raises(UserError, match=r"nope\.csv: no such call log"):
        read_call_log(tmp_path / "nope.csv")


def test_parquet_rows_are_named_by_row_and_naive_timestamps_refused(tmp_path):
    table = pa.table({
        "prospect_id": [1, 2], "start_time": pa.array([0, 10], type=pa.timestamp("s", tz="UTC")),
        "direction": ["outbound", "outbound"], "outcome": ["connect", "Wrong number"]})
    pq.write_table(table, tmp_path / "log.parquet")
    with pytest.raises(UserError, match=r"log\.parquet, row 2, column outcome: unknown outcome 'Wrong number'"):
        read_call_log(tmp_path / "log.parquet")
    naive = table.set_column(1, "start_time", pa.array([0, 10], type=pa.timestamp("s")))
    pq.write_table(naive, tmp_path / "naive.parquet")
    with pytest.raises(UserError, match=r"naive\.parquet, column start_time: the timestamps have no time zone"):
        read_call_log(tmp_path / "naive.parquet")


def test_parquet_zone_names_give_local_offsets(tmp_path):
    table = pa.table({
        "prospect_id": ["a"], "direction": ["outbound"], "outcome": ["no_answer"],
        # 2026-01-05 14:00 UTC is 09:00 in New York (winter, -5 h)
        "start_time": pa.array([1767621600], type=pa.timestamp("s", tz="America/New_York"))})
    pq.write_table(table, tmp_path / "ny.parquet")
    log = read_call_log(tmp_path / "ny.parquet")
    assert log.team_offset_s[0] == -5 * 3600
    assert (log.t_s[0] + log.team_offset_s[0]) % 86400 == 9 * 3600


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS[:1] + ["p9,2026-03-02T09:00:00Z,outbound,SALE,,,1"])
    out = tmp_path / "team.toml"
    result = CliRunner().invoke(app, ["fit", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert "line 3, column outcome: unknown outcome 'SALE'" in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


def test_cli_never_replaces_an_existing_file_without_force(tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS)
    out = tmp_path / "team.toml"
    out.write_text("mine")
    result = CliRunner().invoke(app, ["fit", str(path), "-o", str(out)])
    assert result.exit_code == 2 and "the file exists" in result.output
    assert out.read_text() == "mine"


def test_docs_list_every_column_of_the_generic_schema():
    doc = (ROOT / "docs" / "calibration.md").read_text()
    for name, required, _types, _meaning in COLUMNS:
        assert re.search(rf"^\| `{name}` \| {'yes' if required else 'no'} \|", doc, re.M), name


def test_a_log_without_outbound_dials_is_refused(tmp_path):
    path = write_csv(tmp_path, ["p1,2026-03-03T12:10:00-05:00,inbound,inbound_connect"],
                     "prospect_id,start_time,direction,outcome")
    with pytest.raises(UserError, match=r"log\.csv, column direction: the log has no outbound dials"):
        read_call_log(path)


def test_a_tiny_log_still_fits_to_a_valid_scenario_that_says_what_it_lacks(tmp_path):
    out = tmp_path / "team.toml"
    result = CliRunner().invoke(app, ["fit", str(write_csv(tmp_path, GOOD_ROWS)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    import tomllib

    from sim.scenario.schema import build_scenario

    build_scenario(tomllib.loads(out.read_text()), "team.toml")
    text = out.read_text()
    assert "prospects.segments.0.reachability: fewer than 100 dials or 10 live answers" in text
