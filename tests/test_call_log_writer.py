"""The call log writer: rows come back exactly as appended, in the schema's types, a
row group per batch (so memory is bounded by one batch, whatever the campaign's length)."""

from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest

from sim.analysis.metrics import CALLS_SCHEMA
from sim.errors import UserError
from sim.store.results import CallLogWriter

# (time_s, rep, line, prospect, attempt, direction, outcome, message_id, ring_s, talk_s,
#  rep_busy_s, phone_number): outbound dials, an inbound call and a return call
ROWS = [
    (32400.25, 0, 0, 17, 1, "outbound", "no_answer", -1, 25.0, 0.0, 31.5, 1),
    (32431.75, 1, 2, 2_000_000, 3, "outbound", "voicemail_left", 1, 25.0, 0.0, 52.125, 2),
    (86399.9999, 3, 0, 5, 32_767, "outbound", "connect", -1, 7.5, 85.0, 140.0, 1),
    (90000.0, 2, -1, 17, 1, "inbound", "inbound_connect", -1, 0.0, 60.0, 90.0, 0),
    (1e-300, 0, -1, 9, 2, "return", "return_no_answer", -1, 0.0, 0.0, 31.0, 0),
] * 3


def _write(path, rows, batch_rows):
    writer = CallLogWriter(path, "always", 4, batch_rows=batch_rows)
    pending_peak = 0
    for row in rows:
        writer.append(*row)
        pending_peak = max(pending_peak, writer._pending)
    writer.close()
    return writer, pending_peak


def test_rows_come_back_exactly_as_appended(tmp_path):
    writer, _ = _write(tmp_path / "calls.parquet", ROWS, batch_rows=4)
    table = pq.read_table(tmp_path / "calls.parquet")
    assert table.schema.equals(CALLS_SCHEMA, check_metadata=True)
    assert writer.rows == table.num_rows == len(ROWS)
    names = [name for name, _ in CallLogWriter.APPENDED]
    for index, name in enumerate(names):
        assert table.column(name).to_pylist() == [row[index] for row in ROWS], name
    assert table.column("day").to_pylist() == [math.floor(row[0] / 86400.0) for row in ROWS]
    assert table.column("action").to_pylist() == [
        "message" if row[7] >= 0 else "none" for row in ROWS]
    assert set(table.column("strategy").to_pylist()) == {"always"}
    assert set(table.column("replication").to_pylist()) == {4}


def test_a_row_group_per_batch_and_never_more_than_a_batch_held(tmp_path):
    _, pending_peak = _write(tmp_path / "calls.parquet", ROWS, batch_rows=4)
    assert pending_peak < 4  # a full batch is written as soon as it is full
    groups = pq.ParquetFile(tmp_path / "calls.parquet").metadata.num_row_groups
    assert groups == math.ceil(len(ROWS) / 4)


@pytest.mark.parametrize("bad", [
    {4: 40_000},  # attempt is int16: never written wrapped around
    {3: 2**31},  # prospect is int32
    {11: 128},  # phone_number is int8
    {7: None},  # message_id must be a number
])
def test_a_value_outside_its_column_type_is_refused_and_the_log_stays_whole(tmp_path, bad):
    writer = CallLogWriter(tmp_path / "calls.parquet", "always", 0)
    writer.append(*ROWS[0])
    row = list(ROWS[1])
    for index, value in bad.items():
        row[index] = value
    with pytest.raises(ValueError, match="calls.parquet: call 2 does not fit the call-log schema"):
        writer.append(*row)
    writer.append(*ROWS[2])
    writer.close()  # the rows before and after the refused one are written, aligned
    table = pq.read_table(tmp_path / "calls.parquet")
    assert table.column("attempt").to_pylist() == [ROWS[0][4], ROWS[2][4]]
    assert table.column("time_s").to_pylist() == [ROWS[0][0], ROWS[2][0]]


def test_an_unwritable_folder_is_one_line(tmp_path):
    with pytest.raises(UserError, match="calls.parquet"):
        CallLogWriter(tmp_path / "missing" / "calls.parquet", "always", 0)
